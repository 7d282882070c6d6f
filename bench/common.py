"""Shared helpers for the benchmark scripts: cached data, measured subprocesses, machine facts.

Data is generated once per (people, requests, seed) into ``.bench-cache/`` (gitignored) and reused;
a master database is loaded once per data set. Every figure is measured on a subprocess with
``os.wait4``: wall time, user and system CPU seconds and peak resident memory of the process tree
that was waited for. The machine is shared with other work, so the load average before and after
each run is recorded too: wall time on a busy 2-core machine is not CPU time.

Results are appended as JSON lines to ``.bench-cache/results.jsonl`` so docs/benchmarks.md can be
rebuilt from the same numbers that were printed.
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("TINMATCH_BENCH_CACHE", ROOT / ".bench-cache"))
RESULTS = CACHE / "results.jsonl"
BIN = Path(sys.executable).parent
TINMATCH = str(BIN / "tinmatch")
SEED = 1

# Named sizes from issue 6: (people in the master, request rows).
SIZES: dict[str, tuple[int, int]] = {
    "small": (100_000, 10_000),
    "medium": (1_000_000, 100_000),
    "large": (10_000_000, 1_000_000),
}


def size_arg(text: str) -> tuple[int, int]:
    """``small``/``medium``/``large`` or ``PEOPLE/REQUESTS`` (``1000000/100000``, ``1m/100k``)."""
    if text in SIZES:
        return SIZES[text]
    people, _, requests = text.partition("/")
    return _count(people), _count(requests)


def _count(text: str) -> int:
    text = text.strip().lower().replace("_", "")
    scale = {"k": 1_000, "m": 1_000_000}.get(text[-1:], 1)
    return int(float(text[:-1] if scale > 1 else text) * scale)


def label(people: int, requests: int) -> str:
    return f"p{_short(people)}_r{_short(requests)}"


def _short(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1_000 == 0:
        return f"{n // 1_000}k"
    return str(n)


@dataclass
class Measurement:
    """What one measured subprocess cost."""

    command: list[str]
    wall_s: float
    user_s: float
    sys_s: float
    max_rss_mib: float
    returncode: int
    load_before: float
    load_after: float
    stdout_tail: str = ""

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def line(self) -> str:
        return (
            f"wall {self.wall_s:8.1f}s  cpu {self.cpu_s:8.1f}s (user {self.user_s:.1f} + sys "
            f"{self.sys_s:.1f})  peak RSS {self.max_rss_mib:8.0f} MiB  load {self.load_before:.1f}"
            f"->{self.load_after:.1f}"
        )


def measure(command: list[str], env: dict[str, str] | None = None) -> Measurement:
    """Run `command`, wait with ``os.wait4`` and return its wall, CPU and peak-memory figures."""
    load_before = os.getloadavg()[0]
    started = time.monotonic()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, **(env or {})},
        text=True,
    )
    assert proc.stdout is not None
    sampler = _TreeSampler(proc.pid)
    sampler.start()
    output = proc.stdout.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.monotonic() - started
    sampler.stop()
    proc.returncode = os.waitstatus_to_exitcode(status)
    # Under py-spy the measured process is py-spy itself: take the sampled tree's figures.
    tree = sampler.cpu_s > usage.ru_utime + usage.ru_stime
    result = Measurement(
        command=command,
        wall_s=wall,
        user_s=sampler.user_s if tree else usage.ru_utime,
        sys_s=sampler.sys_s if tree else usage.ru_stime,
        max_rss_mib=max(usage.ru_maxrss / 1024, sampler.peak_rss_mib),  # ru_maxrss: KiB
        returncode=proc.returncode,
        load_before=load_before,
        load_after=os.getloadavg()[0],
        stdout_tail=output[-2000:],
    )
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed ({result.returncode}):\n{output[-3000:]}")
    return result


class _TreeSampler(threading.Thread):
    """Samples RSS (summed) and CPU times of a process and its descendants twice a second."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss_mib = 0.0
        self._cpu: dict[int, tuple[float, float]] = {}
        self._halt = threading.Event()

    @property
    def user_s(self) -> float:
        return sum(u for u, _ in self._cpu.values())

    @property
    def sys_s(self) -> float:
        return sum(s for _, s in self._cpu.values())

    @property
    def cpu_s(self) -> float:
        return self.user_s + self.sys_s

    def run(self) -> None:
        import psutil

        try:
            root = psutil.Process(self.pid)
        except psutil.Error:
            return
        while not self._halt.is_set():
            try:
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                break
            rss = 0
            for p in procs:
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        t = p.cpu_times()
                        self._cpu[p.pid] = (t.user, t.system)
                except psutil.Error:
                    continue
            self.peak_rss_mib = max(self.peak_rss_mib, rss / 2**20)
            self._halt.wait(0.5)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=2)


@dataclass
class DataSet:
    people: int
    requests: int
    seed: int
    dir: Path
    generated: Measurement | None = None

    @property
    def taxpayers(self) -> Path:
        return self.dir / "taxpayers.parquet"

    @property
    def returns(self) -> Path:
        return self.dir / "returns.parquet"

    @property
    def request(self) -> Path:
        return self.dir / "request.csv"

    @property
    def truth(self) -> Path:
        return self.dir / "truth.csv"

    @property
    def cover(self) -> Path:
        return self.dir / "cover.toml"

    @property
    def db(self) -> Path:
        return self.dir / "master.duckdb"

    @property
    def label(self) -> str:
        return label(self.people, self.requests)


def dataset(people: int, requests: int, seed: int = SEED) -> DataSet:
    """The cached synthetic data set of this size, generated on first use."""
    out = CACHE / (label(people, requests) + ("" if seed == SEED else f"_s{seed}"))
    done = out / ".done"
    data = DataSet(people, requests, seed, out)
    if done.exists():
        return data
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    cmd = [TINMATCH, "synth", "--people", str(people), "--requests", str(requests),
           "--seed", str(seed), "--format", "parquet", "--out", str(out)]  # fmt: skip
    print(f"generating {data.label} (once; cached in {out}) ...", flush=True)
    data.generated = measure(cmd)
    print("  synth " + data.generated.line(), flush=True)
    record("synth", data, data.generated)
    done.write_text(datetime.now(UTC).isoformat())
    return data


def load_command(data: DataSet, db: Path) -> list[str]:
    return [TINMATCH, "load-master", "--taxpayers", str(data.taxpayers),
            "--returns", str(data.returns), "--db", str(db), "-q"]  # fmt: skip


def master(data: DataSet) -> Path:
    """The data set's loaded master database, loading it on first use."""
    if not data.db.exists() or not _usable(data.db):
        print(f"loading master for {data.label} (once) ...", flush=True)
        m = measure(load_command(data, data.db))
        print("  load-master " + m.line(), flush=True)
        record("load", data, m)
    return data.db


def _usable(db: Path) -> bool:
    """False when the cached master was built by an older tinmatch (its model no longer fits)."""
    from tinmatch.engines.duckdb import LinkEngine
    from tinmatch.master.database import open_master

    try:
        con = open_master(db)
    except Exception:  # noqa: BLE001 - any failure means: load again
        return False
    try:
        LinkEngine.open(con)
        return True
    except Exception:  # noqa: BLE001
        return False
    finally:
        con.close()


def bench_agreement(requests: int) -> Path | None:
    """An agreement whose caps admit `requests` rows from one official (None: the default one
    does). It loosens the default, so `prepare_state` registers it with two approvers."""
    if requests <= 1_000:
        return None
    from importlib import resources

    text = (resources.files("tinmatch") / "data" / "default_agreement.toml").read_text()
    for key, default, wanted in (
        ("max_rows_per_request", 100_000, min(max(requests, 100_000), 1_000_000)),
        ("max_rows_per_agency_per_period", 1_000_000, min(max(requests, 1_000_000), 10_000_000)),
        ("max_rows_per_official_per_period", 1_000, min(requests, 1_000_000)),
        ("min_interval_seconds", 60, 0),
    ):
        assert f"{key} = {default}" in text, key
        text = text.replace(f"{key} = {default}", f"{key} = {wanted}")
    path = CACHE / f"agreement_cap_{requests}.toml"
    path.write_text(text)
    return path


BENCH_APPROVERS = ("Bench Approver One", "Bench Approver Two")
BENCH_PASSWORD = "bench approver passphrase"


def prepare_state(
    state: Path, agreement: Path | None, agency: str = "", official: str = ""
) -> None:
    """Register the requester (default: the one the synthetic cover names) and the bench
    agreement in the operational database `state`, as an operator would before the first
    request (issue 14)."""
    from tinmatch.agreement import Agreement
    from tinmatch.errors import ConflictError
    from tinmatch.ops import Store
    from tinmatch.ops.registry import Registry
    from tinmatch.synth import SYNTH_AGENCY, SYNTH_OFFICIAL
    from tinmatch.web.accounts import Accounts

    agency, official = agency or SYNTH_AGENCY, official or SYNTH_OFFICIAL
    now = datetime.now(UTC)
    with Store.open(f"sqlite:///{state}") as store:
        registry = Registry(store)
        for step in (
            lambda: registry.add_agency(agency, now),
            lambda: registry.add_official(official, agency, now),
            *(lambda n=n: Accounts(store.engine).add_reviewer(n, BENCH_PASSWORD)
              for n in BENCH_APPROVERS),
        ):  # fmt: skip
            try:
                step()
            except ConflictError:
                pass  # there already
        if agreement is not None:
            loaded = Agreement.load(agreement)
            for approver in BENCH_APPROVERS:
                try:
                    reg = registry.register(loaded, loaded.raw_bytes, approver=approver, now=now)
                except ConflictError:
                    break  # registered already
                if reg.status == "active":
                    break


def process_command(
    data: DataSet, request: Path, out: Path, state: Path, db: Path | None = None
) -> list[str]:
    """`tinmatch process` of `request` against the data set's master (or `db`)."""
    cmd = [TINMATCH, "process", str(request), "--cover", str(data.cover),
           "--db", str(db or data.db), "--out", str(out),
           "--state-db", f"sqlite:///{state}", "-q"]  # fmt: skip
    agreement = bench_agreement(data.requests)
    prepare_state(state, agreement)
    if agreement is not None:
        cmd += ["--agreement", str(agreement)]
    return cmd


def release(out: Path, state: Path) -> Any:
    """Approve the held request in `out` as the bench approvers (two), so that ``matched.csv``
    exists to be scored, and return its private decision log (record_id, outcome, tin,
    probability) for scoring the person disclosed by TIN. Not part of any timed figure."""
    import pandas as pd

    from tinmatch.ops import Store

    request_id = json.loads((out / "status.json").read_text())["request_id"]
    env = {**os.environ, "TINMATCH_REVIEWER_PASSWORD": BENCH_PASSWORD}
    for approver in BENCH_APPROVERS:
        done = subprocess.run(
            [TINMATCH, "review", "approve", request_id, "--reviewer", approver,
             "--note", "benchmark", "--state-db", f"sqlite:///{state}"],
            env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"approving {request_id} failed:\n{done.stdout}{done.stderr}")
        if done.stdout.startswith("released"):
            break
    with Store.open(f"sqlite:///{state}") as store:
        return pd.DataFrame(
            [(d.record_id, d.outcome, d.tin, d.probability) for d in store.decisions(request_id)],
            columns=["record_id", "outcome", "tin", "probability"],
        )


def machine() -> dict[str, Any]:
    """nproc, memory, CPU model and library versions of this machine."""
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_kib = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_kib = int(line.split()[1])
    except OSError:
        pass
    versions: dict[str, str] = {}
    for pkg in ("duckdb", "splink", "pandas", "recordlinkage"):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:  # noqa: BLE001 - optional packages
            versions[pkg] = "absent"
    return {
        "nproc": os.cpu_count(),
        "mem_gib": round(mem_kib / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
        **versions,
    }


@dataclass
class Record:
    bench: str
    data: str
    people: int
    requests: int
    figures: dict[str, Any] = field(default_factory=dict)
    at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))


def record(bench: str, data: DataSet, m: Measurement | None = None, **figures: Any) -> Record:
    """Append one result line to .bench-cache/results.jsonl and return it."""
    if m is not None:
        figures = {
            "wall_s": round(m.wall_s, 2), "cpu_s": round(m.cpu_s, 2),
            "max_rss_mib": round(m.max_rss_mib), "load_before": round(m.load_before, 2),
            "load_after": round(m.load_after, 2), **figures,
        }  # fmt: skip
    rec = Record(bench, data.label, data.people, data.requests, figures)
    CACHE.mkdir(parents=True, exist_ok=True)
    with RESULTS.open("a") as fh:
        fh.write(json.dumps(asdict(rec)) + "\n")
    return rec


def profiled(command: list[str], raw_out: Path, rate: int = 20) -> list[str]:
    """`command` wrapped in ``py-spy record`` (collapsed stacks, idle samples kept) to `raw_out`."""
    spy = shutil.which("py-spy", path=str(BIN)) or "py-spy"
    raw_out.parent.mkdir(parents=True, exist_ok=True)
    return [spy, "record", "--idle", "--rate", str(rate), "--format", "raw",
            "-o", str(raw_out), "--", *command]  # fmt: skip


def _frame_name(frame: str) -> str:
    # "func (path/to/module.py:123)" -> "module.py:func"
    func, _, where = frame.partition(" (")
    path = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(path).parts
    short = "/".join(parts[-2:]) if parts else path
    return f"{short}:{func}"


def hot_spots(raw: Path, top: int = 25) -> list[tuple[str, float, float]]:
    """(function, share of samples with it on the stack, share as the leaf) from py-spy raw."""
    total_samples = 0
    inclusive: dict[str, int] = {}
    leaf: dict[str, int] = {}
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total_samples += count
        frames = [_frame_name(f) for f in stack.split(";") if f]
        # py-spy puts the thread/process name first; keep only frames that look like code.
        frames = [f for f in frames if ".py:" in f]
        for name in set(frames):
            inclusive[name] = inclusive.get(name, 0) + count
        if frames:
            leaf[frames[-1]] = leaf.get(frames[-1], 0) + count
    if not total_samples:
        return []
    rows = sorted(inclusive.items(), key=lambda kv: -kv[1])[:top]
    return [(n, c / total_samples, leaf.get(n, 0) / total_samples) for n, c in rows]


def print_hot_spots(raw: Path, top: int = 25) -> None:
    print(f"hot spots ({raw}): share of wall-clock samples, on stack / as leaf")
    for name, incl, self_share in hot_spots(raw, top):
        print(f"  {incl:6.1%} {self_share:6.1%}  {name}")


def valid_rows(data: DataSet, request: Path | None = None) -> Any:
    """The request's valid rows as ``validate`` returns them (record_id, _row, dob, ...).

    Uses the same reader, context and agreement as ``process``, so every comparison in the
    benchmarks is made on exactly the rows tinmatch would look up.
    """
    from collections import Counter

    import pandas as pd

    from tinmatch.agreement import Agreement
    from tinmatch.master.database import open_master, read_meta
    from tinmatch.pipeline.read import RequestReader
    from tinmatch.pipeline.validate import ValidationContext, validate

    agreement = Agreement.load(bench_agreement(data.requests))
    con = open_master(master(data))
    try:
        meta = read_meta(con, "m")
    finally:
        con.close()
    reader = RequestReader(
        request or data.request,
        required_columns=agreement.request.required_columns,
        chunk_rows=50_000,
    )
    counts = Counter(i for i in reader.record_ids() if i is not None)
    ctx = ValidationContext(
        allowed_years=agreement.allowed_years(meta.get("tax_years", [])),
        today=datetime.now(UTC).date(),
        duplicate_ids={i for i, n in counts.items() if n > 1},
        remaining_quota=agreement.limits.max_rows_per_request,
    )
    parts = [validate(chunk, agreement, ctx)[0] for chunk in reader]
    return pd.concat(parts, ignore_index=True)


def truth_tins(data: DataSet) -> dict[str, str]:
    """record_id -> true TIN for rows that should be disclosed (the person is in the master)."""
    import pandas as pd

    truth = pd.read_csv(data.truth, dtype=str, keep_default_na=False)
    keep = truth[(truth["expected_outcome"] == "matched") & (truth["true_tin"] != "")]
    return dict(zip(keep["record_id"], keep["true_tin"], strict=True))
