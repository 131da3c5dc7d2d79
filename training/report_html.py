"""The evaluation report's Markdown as a self-contained HTML page (headings, paragraphs, tables, images)."""

from __future__ import annotations

import html


def markdown_to_html(markdown: str, plots: list[str]) -> str:
    """The Markdown report as a self-contained HTML page (headings, paragraphs, tables, images)."""
    out: list[str] = []
    in_table = False
    for line in markdown.splitlines():
        is_row = line.startswith("|")
        if is_row and not in_table:
            out.append("<table border='1' cellspacing='0' cellpadding='3'>")
        if not is_row and in_table:
            out.append("</table>")
        in_table = is_row
        if line.startswith("| ---"):
            continue
        if is_row:
            out.append(
                "<tr>" + "".join(f"<td>{html.escape(c.strip())}</td>" for c in line.strip("|").split("|")) + "</tr>"
            )
        elif line.startswith("## "):
            out.append(f"<h2>{html.escape(line[3:])}</h2>")
        elif line.startswith("# "):
            out.append(f"<h1>{html.escape(line[2:])}</h1>")
        elif line and not line.startswith("!["):
            out.append(f"<p>{html.escape(line)}</p>")
    if in_table:
        out.append("</table>")
    images = "".join(f"<img src='{name}' alt='{name}'>" for name in plots)
    head = "<!doctype html><html><head><meta charset='utf-8'><title>evaluation</title></head><body>"
    return head + "\n".join(out) + images + "</body></html>\n"
