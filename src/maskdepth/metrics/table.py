"""Metric values as an aligned text table (what `evaluate` and `demo` print)."""

from __future__ import annotations

import math


def _cell(value: float | None, digits: int) -> str:
    if value is None:
        return "-"
    if math.isnan(value):  # NaN: measured, but nothing could be scored
        return "\u2013"
    return f"{float(value):.{digits}f}"


def format_table(rows: dict[str, dict[str, float]], digits: int = 4) -> str:
    """An aligned text table: one row per name (e.g. a dataset), one column per metric key
    (in order of first appearance). Missing values print as '-', NaN (nothing to score) as '\u2013'.
    """
    columns = list(dict.fromkeys(key for row in rows.values() for key in row))
    header = ["", *columns]
    body = [[name, *(_cell(row.get(key), digits) for key in columns)] for name, row in rows.items()]
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def render(line: list[str]) -> str:
        cells = [line[0].ljust(widths[0])]
        cells += [cell.rjust(width) for cell, width in zip(line[1:], widths[1:], strict=True)]
        return "  ".join(cells).rstrip()

    rule = "  ".join("-" * width for width in widths)
    return "\n".join([render(header), rule, *(render(line) for line in body)])
