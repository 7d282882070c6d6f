"""Generate the reference tables of docs/operations.md from the code's own registries.

    python tools/ref_docs.py          # rewrite the generated blocks of docs/operations.md
    python tools/ref_docs.py --check  # exit 1 when a block is stale; write nothing

Three blocks, each between a `<!-- generated: NAME ... -->` line and `<!-- end generated: NAME -->`:

- `settings`: every environment variable, from ``tinmatch.settings.SETTINGS``;
- `exit-codes`: every error class with its exit code, meaning and examples, from
  ``tinmatch.errors`` (and the subclasses defined elsewhere, such as ``DisclosureGuardError``);
- `reason-codes`: the rejected and unmatched reason codes, from ``tinmatch.reasons.REASONS``.

The prose around the blocks is written by hand; the blocks never are.
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import re
import sys
from collections.abc import Callable
from pathlib import Path

from tinmatch.errors import TinmatchError
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


ERROR_MODULES = ("tinmatch.pipeline.write",)
"""Modules that define a TinmatchError outside tinmatch.errors (a test finds every one)."""

EXIT_CODES_AROUND = {
    0: ("done (for `process`: the request was processed, whatever the split of rows)", ""),
    130: ("interrupted (Ctrl-C)", ""),
}
MEANING_BEFORE = {1: "another tinmatch error, a defect, such as "}
MEANING_AFTER = {2: "; also a command-line usage error (missing option, unknown option)"}


def error_classes() -> list[type[TinmatchError]]:
    """Every error class, by exit code (then in the order defined)."""
    for module in ERROR_MODULES:
        importlib.import_module(module)
    found: list[type[TinmatchError]] = []
    todo: list[type[TinmatchError]] = [TinmatchError]
    while todo:
        cls = todo.pop(0)
        found.append(cls)
        todo.extend(cls.__subclasses__())
    return sorted(found, key=lambda c: c.exit_code)


def _first_line(cls: type) -> str:
    doc = " ".join((inspect.getdoc(cls) or "").split("\n\n", 1)[0].split()).rstrip(".")
    return doc[:1].lower() + doc[1:]


def exit_codes_block() -> str:
    by_code: dict[int, list[type[TinmatchError]]] = {}
    for cls in error_classes():
        if cls is not TinmatchError:
            by_code.setdefault(cls.exit_code, []).append(cls)
    rows = [(code, *text) for code, text in EXIT_CODES_AROUND.items()]
    for code, classes in by_code.items():
        meaning = "; ".join(f"`{c.__name__}`: {_first_line(c)}" for c in classes)
        meaning = MEANING_BEFORE.get(code, "") + meaning + MEANING_AFTER.get(code, "")
        examples = "; ".join(c.examples for c in classes if c.examples)
        rows.append((code, meaning, examples))
    lines = [
        f"| {code} | {_cell(meaning)} | {_cell(examples)} |".replace("|  |", "| |")
        for code, meaning, examples in sorted(rows)
    ]
    return "| code | meaning | examples |\n|---|---|---|\n" + "\n".join(lines) + "\n"


BLOCKS: dict[str, Callable[[], str]] = {
    "settings": settings_block,
    "exit-codes": exit_codes_block,
    "reason-codes": reasons_block,
}
SOURCES = {
    "settings": "tinmatch.settings",
    "exit-codes": "tinmatch.errors",
    "reason-codes": "tinmatch.reasons",
}


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
