"""``process``: the order of the stages, and nothing else.

read -> validate -> standardize -> link -> decide -> disclose -> write (-> record, by the caller).

The request streams through in chunks, so memory is bounded by the chunk size, not the request.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from tinmatch.agreement import Agreement
from tinmatch.cover import Cover
from tinmatch.digest import file_sha256
from tinmatch.engines import Engine, open_engine
from tinmatch.errors import RefusedError
from tinmatch.pipeline.decide import DecisionRule, decide
from tinmatch.pipeline.explain import COLUMNS as EXPLAIN_COLUMNS
from tinmatch.pipeline.explain import explain_frame, prior_weight
from tinmatch.pipeline.features import request_features
from tinmatch.pipeline.read import EXTRAS, RequestReader
from tinmatch.pipeline.validate import ValidationContext, validate
from tinmatch.pipeline.write import (
    REASONS_NOT_SHOWN,
    REASONS_SHOWN,
    UNMATCHED_COLUMNS,
    UNMATCHED_REASONS_KEY,
    ResultWriter,
)
from tinmatch.progress import Reporter
from tinmatch.reasons import NO_RETURN_IN_PERIOD, PREVIOUSLY_RECALLED
from tinmatch.records import Decision, PendingDisclosure
from tinmatch.report import REASONS_FILE, for_requester
from tinmatch.spool import Spool


@dataclass
class ProcessResult:
    request_key: str
    out_dir: Path
    input_sha256: str
    agreement_id: str
    agreement_sha256: str
    model_sha256: str
    rows: int = 0
    counts: Counter[str] = field(default_factory=Counter)
    reasons: Counter[str] = field(default_factory=Counter)
    request_id: str | None = None
    # Kept on disk past a batch: a million-row request must not hold a million of each.
    disclosures: Spool[PendingDisclosure] = field(default_factory=Spool)
    decisions: Spool[Decision] = field(default_factory=Spool)
    probabilities: list[float] = field(default_factory=list)
    _pending_explain: list[tuple[pd.DataFrame, pd.DataFrame]] = field(default_factory=list)

    def pop_explanations(self, prior: float) -> list[pd.DataFrame]:
        frames = [explain_frame(rows, cands, prior) for rows, cands in self._pending_explain]
        self._pending_explain.clear()
        return frames

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "request_id": self.request_id or self.request_key,
            "request_key": self.request_key,
            "agreement_id": self.agreement_id,
            "agreement_sha256": self.agreement_sha256,
            "model_sha256": self.model_sha256,
            "input_sha256": self.input_sha256,
        }
        return out


#: The reviewers' reasons.csv, staged as an extra table of the writer.
REASONS_TABLE = REASONS_FILE.removesuffix(".csv")


def request_key(input_sha256: str, cover: Cover, agreement: Agreement) -> str:
    """Deterministic: the same file from the same agency under one agreement is one request."""
    basis = f"{input_sha256}|{cover.agency}|{agreement.id}|{agreement.sha256}"
    return "REQ-" + hashlib.sha256(basis.encode()).hexdigest()[:16].upper()


def process(
    request: Path,
    out_dir: Path,
    *,
    db: Path,
    agreement: Agreement,
    cover: Cover,
    reporter: Reporter | None = None,
    today: date | None = None,
    remaining_quota: int | None = None,
    review_status: str = "held",
    request_id: str | None = None,
    engine_kind: str = "duckdb",
    record_ids: Sequence[str | None] | None = None,
    input_sha256: str | None = None,
    recalled_tins: frozenset[str] = frozenset(),
    split_full_name: bool = False,
    reader: RequestReader | None = None,
) -> ProcessResult:
    """Process `request` into `out_dir`.

    Nothing that would be disclosed is written there: identified rows go to ``held.csv`` by
    record id, their addresses only into ``result.disclosures`` (for the operational store,
    until a reviewer releases them). A taxpayer in `recalled_tins` (recalled from this agency
    before) is not disclosed again: ``previously_recalled``.

    `record_ids` (every row's, in file order) and `input_sha256` are what a caller that has
    already read and hashed the file (``answer_request``) passes on, so the file is not read
    and hashed a second time; they are computed here when not given. That caller may also pass
    the `reader` of `request` it counted the rows with (``record_ids(keep=True)``, with the
    requester's own columns kept): its chunks are replayed, not read and cleaned again.
    """
    reporter = reporter or Reporter()
    today = today or datetime.now(UTC).date()
    if not agreement.in_force(today):
        raise RefusedError(
            f"agreement {agreement.id} is not in force on {today.isoformat()} "
            f"(effective {agreement.agreement.effective}, expires {agreement.agreement.expires})"
        )
    limits = agreement.limits
    if reader is None:
        reader = request_reader(request, agreement, split_full_name=split_full_name)
    elif reader.path != Path(request) or not reader.keep_extras:
        raise ValueError("process: the reader given must read the request with its own columns")
    engine: Engine = open_engine(engine_kind, db)
    reader.chunk_rows = engine.chunk_rows
    meta = engine.master_meta()
    input_sha = input_sha256 or file_sha256(request)
    result = ProcessResult(
        request_key=request_key(input_sha, cover, agreement),
        out_dir=out_dir,
        input_sha256=input_sha,
        agreement_id=agreement.id,
        agreement_sha256=agreement.sha256,
        model_sha256=engine.model_sha256,
        request_id=request_id,
    )
    if record_ids is None:
        ids: Sequence[str | None] = reader.record_ids()
    else:
        ids = record_ids
        reader.n_rows = len(ids)
    counts = Counter(i for i in ids if i is not None)
    quota = limits.max_rows_per_request
    if remaining_quota is not None:
        quota = min(quota, remaining_quota)
    ctx = ValidationContext(
        allowed_years=agreement.allowed_years(meta.get("tax_years", [])),
        today=today,
        duplicate_ids={i for i, n in counts.items() if n > 1},
        remaining_quota=quota,
    )
    rule = DecisionRule(
        min_probability=agreement.matching.min_match_probability,
        margin_bits=agreement.matching.ambiguity_margin_bits,
        candidate_floor=agreement.matching.min_candidate_probability,
    )
    writer = ResultWriter(out_dir, agreement.disclosed_fields, held=True)
    # The reviewers' copy of every unmatched row's reason (the requester's may not say).
    writer.add_extra(REASONS_TABLE, UNMATCHED_COLUMNS, pd.DataFrame())
    prior = prior_weight(engine.params.probability_two_random_records_match)

    def finish(chunk: _Prepared, candidates: pd.DataFrame | None) -> None:
        _finish_chunk(chunk, candidates, agreement, engine, rule, writer, result, recalled_tins)
        for lines in result.pop_explanations(prior) or [pd.DataFrame()]:
            writer.add_extra("explain", EXPLAIN_COLUMNS, lines)
        result.rows += chunk.rows
        advance(chunk.rows)

    # The engine may link the next chunk while this thread decides, discloses and writes this
    # one; the results are the same as one chunk after the other. Deciding and explaining read
    # only each row's best two candidates (and how many it had).
    chunks = (_prepare_chunk(raw, agreement, ctx) for raw in reader)
    try:
        with reporter.task("matching request rows", reader.n_rows) as advance:
            with engine.link_chunks(chunks, _features, top=2) as linked:
                for chunk, candidates in linked:
                    finish(chunk, candidates)
        summary = {"review_status": review_status, **result.summary()}
        summary[UNMATCHED_REASONS_KEY] = (
            REASONS_SHOWN if agreement.disclosure.unmatched_reasons else REASONS_NOT_SHOWN
        )
        with reporter.task("writing results", 1) as advance:
            writer.close(summary)
            advance(1)
    except BaseException:
        writer.abort()
        raise
    finally:
        engine.release()  # a warm engine stays open for the next request
        reader.close()
    return result


def request_reader(
    request: Path, agreement: Agreement, *, split_full_name: bool = False
) -> RequestReader:
    """The reader ``process`` reads `request` with, under `agreement`'s limits."""
    limits = agreement.limits
    return RequestReader(
        request,
        required_columns=agreement.request.required_columns,
        max_cell_chars=limits.max_cell_chars,
        max_file_bytes=limits.max_file_bytes,
        split_full_name=split_full_name,
        keep_extras=True,  # the requester's own columns, echoed in result.xlsx
    )


@dataclass
class _Prepared:
    """A chunk validated and standardized, waiting for its candidates."""

    rows: int
    rejected: pd.DataFrame
    valid: pd.DataFrame
    features: pd.DataFrame | None  # None: no valid row to look up
    extras: pd.DataFrame | None = None  # the requester's own columns, by record_id


def _prepare_chunk(chunk: pd.DataFrame, agreement: Agreement, ctx: ValidationContext) -> _Prepared:
    extras = _own_columns(chunk)
    valid, rejected = validate(chunk, agreement, ctx)
    if valid.empty:
        return _Prepared(len(chunk), rejected, valid, None, extras)
    valid = valid.reset_index(drop=True)
    valid["qid"] = "q" + valid["_row"].astype(str)
    return _Prepared(len(chunk), rejected, valid, request_features(valid), extras)


def _own_columns(chunk: pd.DataFrame) -> pd.DataFrame | None:
    """The requester's own columns of the chunk's rows, ``record_id`` first (None: none)."""
    extras = chunk.attrs.get(EXTRAS)
    if extras is None or not len(extras.columns):
        return None
    frame = extras.copy()
    frame.insert(0, "record_id", chunk["record_id"].to_numpy())
    return frame


def _features(chunk: _Prepared) -> pd.DataFrame | None:
    return chunk.features


def _finish_chunk(
    chunk: _Prepared,
    candidates: pd.DataFrame | None,
    agreement: Agreement,
    engine: Engine,
    rule: DecisionRule,
    writer: ResultWriter,
    result: ProcessResult,
    recalled_tins: frozenset[str] = frozenset(),
) -> None:
    rejected, valid = chunk.rejected, chunk.valid
    if chunk.extras is not None:
        writer.add_request_columns(chunk.extras)
    if len(rejected):
        writer.add_rejected(rejected)
        result.counts["rejected"] += len(rejected)
        for codes, rid, where, text in zip(
            rejected["reason_codes"], rejected["record_id"], rejected["fields"],
            rejected["message"], strict=True,
        ):  # fmt: skip
            for code in str(codes).split(";"):
                result.reasons[code] += 1
            result.decisions.append(
                Decision(str(rid), "rejected", str(codes), None, None, _text(text), _text(where))
            )
    if candidates is None:
        return
    decisions = decide(valid["qid"].tolist(), candidates, rule)
    if "n_candidates" in candidates.columns:
        counts = candidates.drop_duplicates("qid").set_index("qid")["n_candidates"]
        decisions["n_candidates"] = decisions["qid"].map(counts).fillna(0).astype(int)
    rows = valid.merge(decisions, on="qid", how="left", validate="one_to_one")
    result.probabilities.extend(float(p) for p in rows["match_probability"].dropna().tolist())
    if recalled_tins:  # recalled from this agency before: never looked up for it again
        again = (rows["outcome"] == "identified") & rows["tin"].isin(recalled_tins)
        rows.loc[again, "outcome"] = "unmatched"
        rows.loc[again, "reason_code"] = PREVIOUSLY_RECALLED.code
        rows.loc[again, "message"] = PREVIOUSLY_RECALLED.message()
    identified = rows[rows["outcome"] == "identified"]
    found = engine.disclose(identified[["qid", "tin", "tax_years"]], agreement.disclosed_fields)
    fields = list(agreement.disclosed_fields)
    # qid -> the disclosed values (plain Python) and the return's tax year.
    found_values = [[_plain(v) for v in found[f].tolist()] for f in fields]
    found_by_qid = {
        qid: (dict(zip(fields, values, strict=True)), int(year))
        for qid, year, *values in zip(
            found["qid"].tolist(), found["tax_year"].tolist(), *found_values, strict=True
        )
    }
    matched_out: list[str] = []
    unmatched_out: list[dict[str, Any]] = []  # as the requester reads them
    reasons_out: list[dict[str, Any]] = []  # the detailed reasons, for the reviewers
    shown = agreement.disclosure.unmatched_reasons
    decisions_out: list[Decision] = []
    columns = (
        rows["record_id"].tolist(), rows["qid"].tolist(), rows["outcome"].tolist(),
        rows["match_probability"].tolist(), rows["tin"].tolist(), rows["reason_code"].tolist(),
        rows["message"].tolist(), rows["tax_years"].tolist(), rows["statute"].tolist(),
        rows["case_number"].tolist(), _asked(rows),
    )  # fmt: skip
    for record_id, qid, outcome, p, tin, code, text, tax_years, statute, case, asked in zip(
        *columns, strict=True
    ):
        rid = str(record_id)
        prob = None if _missing(p) else float(p)
        hit = found_by_qid.get(qid) if outcome == "identified" else None
        if hit is not None:
            values, year = hit
            matched_out.append(rid)
            result.disclosures.append(
                PendingDisclosure(
                    rid, str(tin), values, year, prob or 0.0, str(statute), str(case), asked
                )  # fmt: skip
            )
            decisions_out.append(Decision(rid, "matched", None, str(tin), prob))
            continue
        if outcome == "identified":
            reason = NO_RETURN_IN_PERIOD.code
            years = ", ".join(str(y) for y in tax_years)
            message = NO_RETURN_IN_PERIOD.message(years=years)
        else:
            reason, message = str(code), str(text)
        told, words = for_requester(reason, message, reasons_shown=shown)
        unmatched_out.append({"record_id": rid, "reason_code": told, "message": words})
        reasons_out.append({"record_id": rid, "reason_code": reason, "message": message})
        result.reasons[reason] += 1
        tin_text = None if _missing(tin) else str(tin)
        decisions_out.append(Decision(rid, "unmatched", reason, tin_text, prob, message))
    result.decisions.extend(decisions_out)
    labels = pd.DataFrame(
        {
            "qid": rows["qid"],
            "record_id": rows["record_id"].astype(str),
            "label": [d.outcome for d in decisions_out],
            "reason": [d.reason for d in decisions_out],
            "_order": range(len(rows)),
        }
    )
    result._pending_explain.append((labels, candidates))
    if matched_out:
        writer.add_held(matched_out)
        result.counts["matched"] += len(matched_out)
    if unmatched_out:
        writer.add_unmatched(pd.DataFrame(unmatched_out))
        writer.add_extra(REASONS_TABLE, UNMATCHED_COLUMNS, pd.DataFrame(reasons_out))
        result.counts["unmatched"] += len(unmatched_out)


#: What the requester asked, kept with a row to be disclosed so a reviewer sees both side by side.
ASKED_COLUMNS = (
    "first_name", "middle_name", "last_name", "suffix", "street", "address_line2", "city",
    "state", "zip", "removal_order_date", "criminal_statute", "case_number", "tax_periods",
)  # fmt: skip


def _asked(rows: pd.DataFrame) -> list[dict[str, str | None]]:
    columns = [c for c in ASKED_COLUMNS if c in rows.columns]
    values = [[_text(v) for v in rows[c].tolist()] for c in columns]
    return [dict(zip(columns, row, strict=True)) for row in zip(*values, strict=True)] or [
        {} for _ in range(len(rows))
    ]


def _text(value: Any) -> str | None:
    if isinstance(value, list | tuple):
        return ";".join(str(v) for v in value)
    if _missing(value):
        return None
    if isinstance(value, datetime | date):
        return value.isoformat()[:10]
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or bool(pd.isna(value))


def _plain(value: Any) -> Any:
    if value is None or (isinstance(value, float) and pd.isna(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value
