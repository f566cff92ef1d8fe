"""Tables as HTML, for Jupyter's _repr_html_: plain markup, every cell escaped."""

from __future__ import annotations

from html import escape
from typing import Sequence


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], caption: str = "") -> str:
    head = "".join(f"<th style=\"text-align:left\">{escape(c)}</th>" for c in columns)
    body = "".join("<tr>" + "".join(f"<td style=\"text-align:left\">{escape(str(v))}</td>" for v in row) + "</tr>"
                   for row in rows)
    cap = f"<caption style=\"text-align:left\">{escape(caption)}</caption>" if caption else ""
    return f"<table>{cap}<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
