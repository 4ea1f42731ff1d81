"""The leaderboard's two documents: ``leaderboard.md`` and one self-contained HTML page.

Both show the same tables (:mod:`rolegym.evaluation.board_tables`) with exactly the same cell
texts. The page has inline CSS, a small inline script that sorts a table when a header is
clicked (numerically for number columns) and the plots embedded as base64 PNGs, so it has no
external assets.
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from rolegym.evaluation.board import Board
from rolegym.evaluation.board_plots import PLOT_NAMES, PLOT_TITLES
from rolegym.evaluation.board_tables import ROLES_NOTE, Table, accuracy_note, protocol_notes
from rolegym.evaluation.markdown import markdown_table, md_escape

__all__ = ["html_page", "markdown_page"]


def _md_table(table: Table) -> str:
    rows = (
        [f"**{md_escape(c.text)}**" if c.bold else md_escape(c.text) for c in row]
        for row in table.rows
    )
    return markdown_table([md_escape(h) for h in table.headers], rows, table.numeric)


def _html_table(table: Table) -> str:
    def cls(num: bool) -> str:
        return ' class="num"' if num else ""

    heads = "".join(
        f'<th{cls(num)} data-sort="{"num" if num else "text"}" title="click to sort">'
        f"{html.escape(h)}</th>"
        for h, num in zip(table.headers, table.numeric, strict=True)
    )
    body = []
    for row in table.rows:
        tds = []
        for c, num in zip(row, table.numeric, strict=True):
            text = html.escape(c.text)
            tds.append(f"<td{cls(num)}>{f'<strong>{text}</strong>' if c.bold else text}</td>")
        body.append("<tr>" + "".join(tds) + "</tr>")
    return (
        f'<table class="sortable" id="{table.id}">\n<thead><tr>{heads}</tr></thead>\n'
        "<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"
    )


def markdown_page(
    title: str,
    board: Board,
    tables: Sequence[Table],
    plots: Mapping[str, Path],
    skipped: Mapping[str, str],
    plot_dir_name: str,
) -> str:
    """The text of ``leaderboard.md``; plots are linked as ``<plot_dir_name>/<file>``."""
    accuracy, systems, roles = tables
    out = [f"# {' '.join(title.split())}", "", "## Accuracy", "", _md_table(accuracy), ""]
    out += [md_escape(accuracy_note(board)), ""]
    first, *others = protocol_notes(board)
    out += [md_escape(first), *(f"- {md_escape(line)}" for line in others)]
    out += ["", "## Systems", "", _md_table(systems), ""]
    out += ["## Per-role", "", _md_table(roles), "", md_escape(ROLES_NOTE), ""]
    if plots or skipped:
        out += ["## Plots", ""]
        for name in PLOT_NAMES:
            if name in plots:
                out += [f"![{PLOT_TITLES[name]}]({plot_dir_name}/{plots[name].name})", ""]
            elif name in skipped:
                out += [f"_{PLOT_TITLES[name]}: skipped ({md_escape(skipped[name])})._", ""]
    return "\n".join(out)


_CSS = """
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: #1f2328;
       max-width: 82rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: .8rem 0; font-size: .88rem; }
th, td { border: 1px solid #d0d7de; padding: .28rem .6rem; }
th { background: #f6f8fa; cursor: pointer; user-select: none; white-space: nowrap; }
th:hover { background: #eaeef2; }
th[aria-sort="ascending"]::after { content: " \\25B2"; font-size: .7em; }
th[aria-sort="descending"]::after { content: " \\25BC"; font-size: .7em; }
.num { text-align: right; font-variant-numeric: tabular-nums; }
tbody tr:nth-child(even) { background: #f9fafb; }
td strong { color: #0a3069; }
.note { color: #57606a; font-size: .85rem; max-width: 60rem; }
figure { margin: 1.5rem 0; } figcaption { color: #57606a; font-size: .85rem; }
img { max-width: 100%; height: auto; }
"""

# Click a header to sort by it; click again to reverse. Number columns sort numerically
# (thousands separators and the partial-mean mark ignored); missing values always go last.
_JS = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  var heads = table.querySelectorAll("th");
  heads.forEach(function (th, col) {
    th.addEventListener("click", function () {
      var asc = th.getAttribute("aria-sort") !== "ascending";
      heads.forEach(function (h) { h.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", asc ? "ascending" : "descending");
      var numeric = th.getAttribute("data-sort") === "num";
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows).map(function (row, i) {
        var text = row.cells[col].textContent.trim();
        var key = numeric ? parseFloat(text.replace(/[^0-9.eE+-]/g, "")) : text;
        var missing = numeric ? isNaN(key) : text === "" || text === "\\u2013";
        return { row: row, key: key, missing: missing, i: i };
      });
      rows.sort(function (a, b) {
        if (a.missing !== b.missing) { return a.missing ? 1 : -1; }
        var c = 0;
        if (!a.missing) {
          c = numeric ? a.key - b.key : String(a.key).localeCompare(String(b.key));
          if (!asc) { c = -c; }
        }
        return c || a.i - b.i;
      });
      rows.forEach(function (r) { body.appendChild(r.row); });
    });
  });
});
"""


def html_page(
    title: str,
    board: Board,
    tables: Sequence[Table],
    plots: Mapping[str, Path],
    skipped: Mapping[str, str],
) -> str:
    """The text of ``leaderboard.html``, with the plots read from their files and embedded."""
    accuracy, systems, roles = tables
    esc = html.escape
    protocol = protocol_notes(board)
    protocol_html = f'<p class="note">{esc(protocol[0])}</p>'
    if len(protocol) > 1:
        items = "".join(f"<li>{esc(line)}</li>" for line in protocol[1:])
        protocol_html += f'\n<ul class="note">{items}</ul>'
    figures = []
    for name in PLOT_NAMES:
        if name in plots:
            data = base64.b64encode(plots[name].read_bytes()).decode("ascii")
            figures.append(
                f'<figure id="plot-{name}"><img alt="{esc(PLOT_TITLES[name])}" '
                f'src="data:image/png;base64,{data}">'
                f"<figcaption>{esc(PLOT_TITLES[name])}</figcaption></figure>"
            )
        elif name in skipped:
            figures.append(
                f'<p class="note">{esc(PLOT_TITLES[name])}: skipped ({esc(skipped[name])}).</p>'
            )
    plots_html = ("<h2>Plots</h2>\n" + "\n".join(figures)) if figures else ""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(title)}</title>
<style>{_CSS}</style>
</head>
<body>
<h1>{esc(title)}</h1>
<h2>Accuracy</h2>
<div class="scroll">
{_html_table(accuracy)}
</div>
<p class="note">{esc(accuracy_note(board))}</p>
{protocol_html}
<h2>Systems</h2>
<div class="scroll">
{_html_table(systems)}
</div>
<h2>Per-role</h2>
<div class="scroll">
{_html_table(roles)}
</div>
<p class="note">{esc(ROLES_NOTE)}</p>
{plots_html}
<script>{_JS}</script>
</body>
</html>
"""
