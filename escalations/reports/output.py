"""A report's tables as text, CSV and JSON: the same cells everywhere (CSV and JSON keep
numbers as numbers; the text table and the pages format them for reading)."""

from __future__ import annotations

import json
from datetime import date, timedelta

from escalations.core.csv_out import to_csv
from escalations.core.durations import format_duration
from escalations.reports.base import Result, Table


def cell_text(value, kind: str) -> str:
    if value is None:
        return "-"
    if kind == "pct":
        return f"{value:.1f}"
    if kind == "hours":  # read as a duration ("2 d 4 h"); CSV and JSON keep the number of hours
        return format_duration(timedelta(minutes=round(value * 60)))
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def _plain(value):
    return value.isoformat() if isinstance(value, date) else value


def table_csv(table: Table) -> str:
    """Cells that a spreadsheet would run as formulas are neutralised (``core.csv_out``)."""
    return to_csv([c.label for c in table.columns], table.rows)


def result_csv(result: Result, table_key: str | None = None) -> str:
    """One table as plain CSV; all tables as CSV blocks, each after a ``# key: title`` line."""
    if table_key is not None:
        return table_csv(find_table(result, table_key))
    return "\n".join(f"# {t.key}: {t.title}\n{table_csv(t)}" for t in result.tables)


def find_table(result: Result, key: str) -> Table:
    for t in result.tables:
        if t.key == key:
            return t
    raise KeyError(
        f"Report '{result.report.name}' has no table '{key}' (tables: {', '.join(t.key for t in result.tables)})."
    )


def result_json(result: Result) -> str:
    summary = {"summary": result.report.summary(result)} if result.report.summary else {}
    return json.dumps(
        {
            **summary,
            "report": result.report.name,
            "title": result.report.title,
            "filters": result.filters.as_dict(),
            "tables": [
                {
                    "key": t.key,
                    "title": t.title,
                    "note": t.note,
                    "columns": [{"key": c.key, "label": c.label, "kind": c.kind} for c in t.columns],
                    "rows": [dict(zip((c.key for c in t.columns), map(_plain, row))) for row in t.rows],
                }
                for t in result.tables
            ],
        },
        indent=1,
    )


def table_text(table: Table) -> str:
    cells = [[cell_text(v, c.kind) for v, c in zip(row, table.columns)] for row in table.rows]
    header = [c.label for c in table.columns]
    widths = [max([len(h), *(len(r[i]) for r in cells)]) for i, h in enumerate(header)]
    numeric = [c.kind != "text" for c in table.columns]

    def line(values):
        return "  ".join(v.rjust(w) if num else v.ljust(w) for v, w, num in zip(values, widths, numeric)).rstrip()

    out = [table.title, "=" * len(table.title), line(header), line(["-" * w for w in widths])]
    out += [line(r) for r in cells] or ["(no rows)"]
    if table.note:
        out.append(f"Note: {table.note}")
    return "\n".join(out)


def result_text(result: Result) -> str:
    f = result.filters
    head = f"{result.report.title}: {f.date_from} .. {f.date_to}"
    chosen = [f"{k}={v}" for k, v in f.as_dict().items() if k not in ("date_from", "date_to") and v]
    if chosen:
        head += " (" + ", ".join(chosen) + ")"
    return "\n\n".join([head, *(table_text(t) for t in result.tables)]) + "\n"
