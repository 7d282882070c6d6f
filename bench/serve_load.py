"""On-demand requests through `tinmatch serve`'s HTTP API: latency and throughput (issue 19 item 4).

Starts `tinmatch serve` on a loaded master (a subprocess on a free loopback port), registers the
synthetic requester, an API key and the bench agreement the way ``bench/common.py`` does, and
sends distinct small requests (``--rows`` rows each, consecutive slices of the data set's
request file, each with its own case numbers so no two files are the same bytes) with
``POST /v1/requests?wait=true``. A request is timed from sending it to the answer: with
``wait=true`` the answer comes once the request's rows are decided and it is **held for
review** (state ``held``; nothing is released, nothing but ``rejected.csv`` is downloadable).
An answer that is not 200 with ``held`` counts as an error and is reported.

Phases, in order, on one server:

1. ``first``: the very first request after ``/healthz`` answers (is the worker warm?);
2. ``single``: ``--single`` requests one after the other (one client): p50/p95;
3. for each N of ``--clients``: N clients each sending requests back to back for
   ``--seconds``: requests/s, p50/p95, errors.

The server's CPU seconds (``/proc``, its process) are read around each phase. Results go to
``.bench-cache/results.jsonl`` (bench ``serve_load``).

Examples::

    .venv/bin/python bench/serve_load.py medium --clients 1,4,8 --seconds 30
    .venv/bin/python bench/serve_load.py --data .bench-cache/p10m_r1m --clients 4,8
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (  # noqa: E402
    TINMATCH,
    DataSet,
    bench_agreement,
    dataset,
    machine,
    master,
    prepare_state,
    record,
    size_arg,
)

ATTESTATION = (
    "Each person named in this request is under active criminal investigation; the "
    "information is used only for it."
)
RATE_PER_MINUTE = 100_000
"""The server's per-key call limit for the run (`--rate-per-minute`): the default 120 a minute
would answer 429 to a load test from one key; the agreement's caps are what limit requests."""


@dataclass
class Sample:
    seconds: float
    status: int
    state: str


@dataclass
class Phase:
    name: str
    clients: int
    wall_s: float
    samples: list[Sample] = field(default_factory=list)
    server_cpu_s: float = 0.0

    @property
    def ok(self) -> list[float]:
        return [s.seconds for s in self.samples if s.status == 200 and s.state == "held"]

    @property
    def errors(self) -> int:
        return len(self.samples) - len(self.ok)

    def figures(self) -> dict[str, Any]:
        ok = sorted(self.ok)
        return {
            "phase": self.name,
            "clients": self.clients,
            "requests": len(self.samples),
            "errors": self.errors,
            "error_kinds": sorted({f"{s.status}:{s.state}" for s in self.samples
                                   if not (s.status == 200 and s.state == "held")}),
            "wall_s": round(self.wall_s, 2),
            "requests_per_s": round(len(ok) / self.wall_s, 2) if self.wall_s else None,
            "p50_s": round(_quantile(ok, 0.50), 3) if ok else None,
            "p95_s": round(_quantile(ok, 0.95), 3) if ok else None,
            "max_s": round(ok[-1], 3) if ok else None,
            "server_cpu_s": round(self.server_cpu_s, 2),
            "server_cpu_ms_per_request": (
                round(self.server_cpu_s / len(self.samples) * 1000) if self.samples else None
            ),
        }  # fmt: skip


def _quantile(values: list[float], q: float) -> float:
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[round(q * 100) - 1]


class Requests:
    """Distinct request files of `rows` rows, cut from the data set's request file in order."""

    def __init__(self, source: Path, rows: int) -> None:
        self.rows = rows
        self._lines = iter_lines(source)
        self.header = next(self._lines)
        self._lock = threading.Lock()
        self._n = 0

    def next(self) -> bytes:
        with self._lock:
            self._n += 1
            tag = f"S{self._n:06d}"
            body = [next(self._lines) for _ in range(self.rows)]
        # Own case numbers per file: no two requests are the same bytes (the same file from
        # the same agency is one request, answered once).
        body = [line.replace("ICE-2026-", f"ICE-{tag}-") for line in body]
        return ("\n".join([self.header, *body]) + "\n").encode("utf-8")


def iter_lines(path: Path) -> Any:
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            yield line.rstrip("\r\n")


def multipart(file_bytes: bytes, official: str) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = []
    for name, value in (("official", official), ("attestation", ATTESTATION)):
        head = f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
        parts.append(f"{head}{value}\r\n".encode())
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="request.csv"'
        f"\r\nContent-Type: text/csv\r\n\r\n".encode()
        + file_bytes
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Client:
    """One connection, one request at a time (as one case system would send them)."""

    def __init__(self, port: int, key: str, official: str) -> None:
        self.port, self.key, self.official = port, key, official
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def send(self, file_bytes: bytes) -> Sample:
        body, content_type = multipart(file_bytes, self.official)
        headers = {"X-API-Key": self.key, "Content-Type": content_type}
        started = time.perf_counter()
        try:
            self.conn.request("POST", "/v1/requests?wait=true", body=body, headers=headers)
            response = self.conn.getresponse()
            raw = response.read()
        except (OSError, http.client.HTTPException):
            self.conn.close()
            self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
            return Sample(time.perf_counter() - started, 0, "connection error")
        seconds = time.perf_counter() - started
        try:
            state = str(json.loads(raw).get("state"))
        except ValueError:
            state = "not json"
        return Sample(seconds, response.status, state)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process `pid` (all its threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def setup(data: DataSet, work: Path, total_rows: int) -> tuple[Path, Path | None, str]:
    """State database with the requester, the bench agreement and an API key."""
    from tinmatch.ops import Store
    from tinmatch.synth import SYNTH_AGENCY
    from tinmatch.web.accounts import Accounts

    state = work / "state.sqlite"
    agreement = bench_agreement(max(total_rows, 1_001))
    prepare_state(state, agreement)
    with Store.open(f"sqlite:///{state}") as store:
        key = Accounts(store.engine).create_key(SYNTH_AGENCY, "serve_load")
    return state, agreement, key


def start_server(
    data: DataSet, state: Path, agreement: Path | None, work: Path, port: int, workers: int,
    extra: list[str],
) -> tuple[subprocess.Popen[bytes], float]:  # fmt: skip
    cmd = [TINMATCH, "serve", "--db", str(data.db), "--state-db", f"sqlite:///{state}",
           "--work-dir", str(work / "web"), "--port", str(port), "--workers", str(workers),
           "--rate-per-minute", str(RATE_PER_MINUTE), *extra]  # fmt: skip
    if agreement is not None:
        cmd += ["--agreement", str(agreement)]
    log = (work / "serve.log").open("wb")
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"serve exited ({proc.returncode}):\n"
                               + (work / "serve.log").read_text()[-3000:])  # fmt: skip
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc, time.perf_counter() - started
        except OSError:
            pass
        time.sleep(0.2)
    proc.terminate()
    raise RuntimeError("serve did not answer /healthz within 600 s")


def run_phase(
    name: str, clients: list[Client], requests: Requests, pid: int, *,
    count: int | None = None, seconds: float | None = None,
) -> Phase:  # fmt: skip
    """Each client sends requests back to back: `count` in all (split between the clients), or
    for `seconds`."""
    samples: list[Sample] = []
    lock = threading.Lock()
    remaining = [count] if count is not None else None
    stop_at = time.perf_counter() + seconds if seconds is not None else None

    def loop(client: Client) -> None:
        while True:
            if remaining is not None:
                with lock:
                    if remaining[0] <= 0:
                        return
                    remaining[0] -= 1
            elif stop_at is not None and time.perf_counter() >= stop_at:
                return
            sample = client.send(requests.next())
            with lock:
                samples.append(sample)

    cpu_before = cpu_seconds(pid)
    started = time.perf_counter()
    threads = [threading.Thread(target=loop, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase = Phase(name, len(clients), time.perf_counter() - started, samples)
    phase.server_cpu_s = cpu_seconds(pid) - cpu_before
    return phase


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "size",
        nargs="?",
        default="medium",
        help="small/medium/large or PEOPLE/REQUESTS (ignored with --data)",
    )
    parser.add_argument("--data", type=Path, help="a data set folder (master.duckdb, request.csv)")
    parser.add_argument("--rows", type=int, default=12, help="rows per request")
    parser.add_argument("--single", type=int, default=20, help="requests sent one at a time")
    parser.add_argument("--clients", default="4,8", help="concurrent clients, comma-separated")
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each load phase")
    parser.add_argument("--workers", type=int, default=2, help="serve --workers")
    parser.add_argument(
        "--serve-arg",
        action="append",
        default=[],
        help="one more argument for `tinmatch serve` (repeatable)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument(
        "--serving",
        type=Path,
        help="keep the service's derived files (the returns sorted by TIN) in "
        "this folder between runs instead of building them at each start",
    )
    args = parser.parse_args()  # fmt: skip

    if args.data is not None:
        folder = args.data.resolve()
        people, _, requests = folder.name.removeprefix("p").partition("_r")
        sized = size_arg(f"{people}/{requests}") if requests else (0, 0)
        data = DataSet(*sized, 0, folder)
        if not data.db.exists():
            parser.error(f"no master.duckdb in {folder}")
    else:
        people, requests = size_arg(args.size)
        data = dataset(people, requests)
        master(data)
    clients = [int(c) for c in args.clients.split(",") if c.strip()]
    # An upper bound of the rows sent, for the bench agreement's caps.
    budget = args.rows * (1 + args.single + sum(clients) * int(args.seconds * 20))
    work = Path(tempfile.mkdtemp(prefix="serve_load_"))
    from tinmatch.synth import SYNTH_OFFICIAL

    print(f"data {data.dir}  work {work}  load {os.getloadavg()[0]:.1f}", flush=True)
    state, agreement, key = setup(data, work, budget)
    if args.serving is not None:
        args.serving.mkdir(mode=0o700, parents=True, exist_ok=True)
        (work / "web").mkdir()
        (work / "web" / "serving").symlink_to(args.serving.resolve())
    port = free_port()
    proc, start_s = start_server(data, state, agreement, work, port, args.workers,
                                 args.serve_arg)  # fmt: skip
    print(f"serve answered /healthz after {start_s:.1f} s (pid {proc.pid})", flush=True)
    requests = Requests(data.request, args.rows)
    phases: list[Phase] = []
    try:
        one = [Client(port, key, SYNTH_OFFICIAL)]
        phases.append(run_phase("first", one, requests, proc.pid, count=1))
        phases.append(run_phase("single", one, requests, proc.pid, count=args.single))
        for n in clients:
            pool = [Client(port, key, SYNTH_OFFICIAL) for _ in range(n)]
            phases.append(run_phase(f"clients={n}", pool, requests, proc.pid,
                                    seconds=args.seconds))  # fmt: skip
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
    load = os.getloadavg()
    print(f"{'phase':12s} {'req':>5s} {'err':>4s} {'req/s':>7s} {'p50 s':>7s} {'p95 s':>7s} "
          f"{'max s':>7s} {'srv CPU ms/req':>15s}")  # fmt: skip
    for phase in phases:
        f = phase.figures()
        print(f"{f['phase']:12s} {f['requests']:5d} {f['errors']:4d} "
              f"{f['requests_per_s'] or 0:7.2f} {f['p50_s'] or 0:7.3f} {f['p95_s'] or 0:7.3f} "
              f"{f['max_s'] or 0:7.3f} {f['server_cpu_ms_per_request'] or 0:15d}"
              + (f"  errors: {f['error_kinds']}" if f["errors"] else ""))  # fmt: skip
    print(f"load average after: {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    record(
        "serve_load", data,
        rows=args.rows, workers=args.workers, serve_start_s=round(start_s, 1),
        phases=[p.figures() for p in phases], load_after=[round(x, 2) for x in load],
        machine=machine(),
    )  # fmt: skip
    if args.keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
