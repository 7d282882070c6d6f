"""A request template for an agreement: ``tinmatch template --out request.xlsx``.

Sheet ``request`` (first): the contract's columns as the header (the agreement's required ones
marked), frozen and filtered, with data validation where a spreadsheet can help: the statutes the
agreement authorizes and the state codes as drop-downs, dates as dates (not in the future), ZIP
codes 5 to 10 characters, the allowed tax years offered (other spellings, such as ``2022;2024``,
are let through with a reminder). Text columns are formatted as text, so a ZIP keeps its leading
zero and ``2022-2024`` does not become a date. Sheet ``instructions``: what each column takes.
A hidden sheet ``lists`` holds the drop-downs' values (hidden sheets are never read as a request).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from tinmatch.agreement import REQUEST_COLUMNS, Agreement
from tinmatch.standardize.addresses import USPS_STATES

#: Rows that carry the validation and formats (Excel's last row is 1,048,576).
MAX_TEMPLATE_ROWS = 100_000
DATE_COLUMNS = ("date_of_birth", "removal_order_date")

WHAT: dict[str, tuple[str, str]] = {
    "record_id": ("Your own key for the row, unique in the file; echoed in every result.", "R0001"),
    "first_name": ("Given name.", "Maria"),
    "middle_name": ("Middle name or initial.", "Elena"),
    "last_name": ("Family name (all of it: Garcia Lopez).", "Garcia Lopez"),
    "suffix": ("Jr, Sr, II, III...", ""),
    "date_of_birth": ("A date (improves matching; never required).", "1980-05-06"),
    "street": ("The last street address you have: number and street. Not NA, NONE, UNKNOWN, "
               "a ZIP code alone.", "12 Elm St"),
    "address_line2": ("Apartment, suite, unit.", "Apt 4B"),
    "city": ("City.", "Boston"),
    "state": ("2-letter state code (drop-down).", "MA"),
    "zip": ("5 or 9 digits (kept as text: leading zeros stay).", "02134"),
    "removal_order_date": ("A date, not in the future.", "2024-01-05"),
    "criminal_statute": ("One the agreement authorizes (drop-down).", ""),
    "case_number": ("Your criminal investigation reference for this person.", "C-2026-0001"),
    "tax_periods": ("One year 2024, a range 2022-2024, or a list 2022;2024, within the "
                    "allowed years.", "2024"),
}


def write_template(
    path: Path,
    agreement: Agreement,
    *,
    allowed_years: tuple[int, int] | None = None,
    today: dt.date | None = None,
) -> Path:
    """Write the template to ``path`` (xlsx); returns it."""
    import xlsxwriter

    today = today or dt.datetime.now(dt.UTC).date()
    required = set(agreement.request.required_columns)
    statutes = list(agreement.request.authorized_statutes)
    states = sorted(s.upper() for s in USPS_STATES)
    last_row = min(MAX_TEMPLATE_ROWS, agreement.limits.max_rows_per_request)
    book = xlsxwriter.Workbook(str(path), {"strings_to_numbers": False})
    book.set_properties({
        "title": f"Address request under agreement {agreement.id}",
        "created": dt.datetime.combine(today, dt.time()),
    })
    text = book.add_format({"num_format": "@"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    head_required = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "num_format": "@"}
    )
    head_optional = book.add_format({"bold": False, "border": 1, "num_format": "@"})

    sheet = book.add_worksheet("request")
    info = book.add_worksheet("instructions")
    lists = book.add_worksheet("lists")
    for col, column in enumerate(REQUEST_COLUMNS):
        fmt = head_required if column in required else head_optional
        sheet.write_string(0, col, column, fmt)
        width = max(len(column) + 2, 14)
        sheet.set_column(col, col, width, date if column in DATE_COLUMNS else text)
    sheet.freeze_panes(1, 0)
    sheet.autofilter(0, 0, 0, len(REQUEST_COLUMNS) - 1)

    lists.write_column(0, 0, statutes)
    lists.write_column(0, 1, states)
    year_choices: list[str] = []
    if allowed_years is not None:
        first, last = allowed_years
        year_choices = [str(y) for y in range(last, first - 1, -1)]
        if last > first:
            year_choices.append(f"{first}-{last}")
        lists.write_column(0, 2, year_choices, text)
    lists.hide()

    def col_of(name: str) -> int:
        return REQUEST_COLUMNS.index(name)

    def validate(name: str, options: dict[str, object]) -> None:
        col = col_of(name)
        title, _ = WHAT[name]
        options = {
            "input_title": name + (" (required)" if name in required else ""),
            "input_message": title[:255],
            **options,
        }
        sheet.data_validation(1, col, last_row, col, options)

    validate("criminal_statute", {
        "validate": "list",
        "source": f"=lists!$A$1:$A${len(statutes)}",
        "error_title": "Statute not authorized",
        "error_message": f"Agreement {agreement.id} authorizes only the statutes in the list."[
            :255
        ],
    })
    validate("state", {
        "validate": "list",
        "source": f"=lists!$B$1:$B${len(states)}",
        "error_title": "State",
        "error_message": "A 2-letter state code.",
    })
    for name in DATE_COLUMNS:
        validate(name, {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(1900, 1, 1),
            "maximum": "=TODAY()",
            "error_title": "Date",
            "error_message": "A date after 1900 and not in the future.",
        })
    validate("zip", {
        "validate": "length",
        "criteria": "between",
        "minimum": 5,
        "maximum": 10,
        "error_title": "ZIP code",
        "error_message": "5 or 9 digits (12345 or 12345-6789).",
    })
    if year_choices:
        validate("tax_periods", {
            "validate": "list",
            "source": f"=lists!$C$1:$C${len(year_choices)}",
            "error_type": "information",
            "error_title": "Tax periods",
            "error_message": (
                f"The agreement allows {allowed_years[0]}-{allowed_years[1]}: a year, a range "
                "2022-2024 or a list 2022;2024 within them."
            ) if allowed_years else "",
        })
    else:
        validate("tax_periods", {"validate": "any"})
    for name in ("record_id", "first_name", "last_name", "case_number"):
        if name in required:
            validate(name, {"validate": "length", "criteria": ">=", "value": 1})

    bold = book.add_format({"bold": True})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    info.set_column(0, 0, 22)
    info.set_column(1, 1, 12)
    info.set_column(2, 2, 70)
    info.set_column(3, 3, 18)
    terms = agreement.agreement
    lines = [
        (f"Address request under agreement {agreement.id}: {terms.title}", bold),
        (f"In force {terms.effective.isoformat()} to {terms.expires.isoformat()}; at most "
         f"{agreement.limits.max_rows_per_request:,} rows per request.", None),
        ("One row per person sought, on the 'request' sheet, below its header. Keep the header "
         "as it is; you may add columns of your own at the right (they are not read, and come "
         "back beside each row in result.xlsx). Lines of notes belong below the data, each in "
         "one cell, or on another sheet.", wrap),
        ("Before sending, check the file: tinmatch check request.xlsx (or POST "
         "/v1/requests/check): it lists every row that would be rejected and why.", wrap),
    ]
    for row, (line, fmt) in enumerate(lines):
        if fmt is None:
            info.write_string(row, 0, line)
        else:
            info.write_string(row, 0, line, fmt)
    row = len(lines) + 1
    info.write_row(row, 0, ("column", "required", "what to write", "example"), bold)
    for column in REQUEST_COLUMNS:
        row += 1
        what, example = WHAT[column]
        info.write_string(row, 0, column)
        info.write_string(row, 1, "required" if column in required else "optional")
        info.write_string(row, 2, what, wrap)
        info.write_string(row, 3, example)
    row += 2
    info.write_string(row, 0, "Authorized statutes", bold)
    for statute in statutes:
        row += 1
        info.write_string(row, 0, statute)
    row += 2
    info.write_string(row, 0, "Allowed tax years", bold)
    row += 1
    if allowed_years is not None:
        info.write_string(row, 0, f"{allowed_years[0]}-{allowed_years[1]}")
    else:
        info.write_string(
            row, 0,
            f"the {agreement.tax_years.recent or 1} most recent years on file at the tax agency",
        )
    sheet.activate()
    book.close()
    return path
