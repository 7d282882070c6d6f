"""Generate the reference tables of docs/operations.md from the code's own registries.

    python tools/ref_docs.py          # rewrite the generated blocks of docs/operations.md
    python tools/ref_docs.py --check  # exit 1 when a block is stale; write nothing

Two blocks, each between a `<!-- generated: NAME ... -->` line and `<!-- end generated: NAME -->`:

- `settings`: every environment variable, from ``tinmatch.settings.SETTINGS``;
- `reason-codes`: the rejected and unmatched reason codes, from ``tinmatch.reasons.REASONS``.

The prose around the blocks is written by hand; the blocks never are.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from pathlib import Path

from tinmatch.reasons import REASONS, Reason
from tinmatch.settings import SETTINGS, Setting

ROOT = Path(__file__).resolve().parent.parent
OPERATIONS_MD = ROOT / "docs" / "operations.md"


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _settings_row(s: Setting) -> str:
    kind = f"one of {', '.join(f'`{c}`' for c in s.choices)}" if s.choices else s.kind
    return f"| `{s.name}` | {_cell(s.documented_default())} | {kind} | {_cell(s.meaning)} |"


def settings_block() -> str:
    head = "| variable | default | type | what it sets |\n|---|---|---|---|\n"
    operator = [_settings_row(s) for s in SETTINGS if s.audience == "operator"]
    tests = [_settings_row(s) for s in SETTINGS if s.audience == "test"]
    return (
        head + "\n".join(operator) + "\n\nSet only by the test suite and the benchmarks:\n\n"
        + head + "\n".join(tests) + "\n"
    )


def _reason_table(reasons: list[Reason]) -> str:
    rows = [
        f"| `{r.code}` | {_cell(r.meaning)} | {_cell(r.remedy)} |" for r in reasons
    ]
    return "| code | what it means | what the requester can do |\n|---|---|---|\n" + "\n".join(
        rows
    ) + "\n"


def reasons_block() -> str:
    rejected = [r for r in REASONS if r.file == "rejected"]
    unmatched = [r for r in REASONS if r.file == "unmatched"]
    return (
        "### Rejected (`rejected.csv`, `reason_codes`)\n\n" + _reason_table(rejected)
        + "\n### Unmatched (`unmatched.csv`, `reason_code`)\n\n" + _reason_table(unmatched)
    )


BLOCKS: dict[str, Callable[[], str]] = {
    "settings": settings_block,
    "reason-codes": reasons_block,
}
SOURCES = {"settings": "tinmatch.settings", "reason-codes": "tinmatch.reasons"}


def _begin(name: str) -> str:
    return (
        f"<!-- generated: {name} by tools/ref_docs.py from {SOURCES[name]}; "
        "do not edit by hand -->"
    )


def _end(name: str) -> str:
    return f"<!-- end generated: {name} -->"


def generate(text: str) -> str:
    """`text` with every generated block rewritten (each must already be marked in it)."""
    for name, render in BLOCKS.items():
        pattern = re.compile(
            rf"^<!-- generated: {re.escape(name)} .*?-->\n.*?^{re.escape(_end(name))}$",
            re.DOTALL | re.MULTILINE,
        )
        block = f"{_begin(name)}\n\n{render()}\n{_end(name)}"
        text, found = pattern.subn(lambda _m, block=block: block, text)
        if found != 1:
            raise SystemExit(
                f"docs/operations.md: expected one `<!-- generated: {name} ...` block, found "
                f"{found}"
            )
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate docs/operations.md's reference tables.")
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if a block is stale; write nothing"
    )
    parser.add_argument("--file", type=Path, default=OPERATIONS_MD, help="file to write or check")
    args = parser.parse_args(argv)
    current = args.file.read_text(encoding="utf-8")
    text = generate(current)
    if args.check:
        if current != text:
            print(f"{args.file} is stale: run python tools/ref_docs.py", file=sys.stderr)
            return 1
        print(f"{args.file} reference tables are up to date")
        return 0
    if current == text:
        print(f"{args.file} unchanged")
        return 0
    args.file.write_text(text, encoding="utf-8")
    print(f"wrote {args.file}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
