"""The leaderboard: result files -> Markdown, HTML, JSON rows and plots."""

from __future__ import annotations

import base64
import html
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from rolegym.evaluation.leaderboard import Leaderboard, build_leaderboard
from rolegym.evaluation.schema import SchemaError

FIXTURES = Path(__file__).parent / "fixtures"
RESULTS = ("base.json", "shared.json", "isolated.json")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
CELLS = ["eval-opt-arith-v0", "single-arith-v0", "voting-arith-v0"]  # workflow, then task


def _load(name: str) -> dict[str, Any]:
    return json.loads((FIXTURES / name).read_text())


def _write(path: Path, data: dict[str, Any]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def _md_table(markdown: str, heading: str) -> list[list[tuple[str, bool]]]:
    """The first table under ``## heading``: rows of (text, bold), header row included."""
    section = markdown.split(f"## {heading}\n", 1)[1].split("\n## ", 1)[0]
    rows = []
    for line in section.splitlines():
        if not line.startswith("|") or set(line) <= set("|-: "):
            continue
        cells = [c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]]
        row = []
        for c in cells:
            bold = c.startswith("**") and c.endswith("**")
            row.append((re.sub(r"\\(.)", r"\1", c[2:-2] if bold else c), bold))
        rows.append(row)
    return rows


def _html_table(page: str, table_id: str) -> list[list[tuple[str, bool]]]:
    body = re.search(rf'<table[^>]*id="{table_id}"[^>]*>(.*?)</table>', page, re.S)
    assert body, table_id
    rows = []
    for tr in re.findall(r"<tr>(.*?)</tr>", body.group(1), re.S):
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", tr, re.S)
        rows.append([(html.unescape(re.sub(r"<[^>]+>", "", c)), "<strong>" in c) for c in cells])
    return rows


@pytest.fixture(scope="module")
def board(tmp_path_factory: pytest.TempPathFactory) -> Leaderboard:
    out = tmp_path_factory.mktemp("board")
    return build_leaderboard([FIXTURES / name for name in RESULTS], out)


def test_cells_sorted_by_workflow_then_task_and_systems_by_mean_accuracy(
    board: Leaderboard,
) -> None:
    assert board.cells == CELLS
    assert board.systems == ["micro-grpo-isolated", "micro-grpo-shared", "micro-base"]
    assert len(board.rows) == 9
    assert [r.label for r in board.rows[:3]] == ["micro-grpo-isolated"] * 3


def test_markdown_and_html_show_the_same_numbers(board: Leaderboard) -> None:
    for heading, table_id in (
        ("Accuracy", "accuracy"),
        ("Per-role", "per-role"),
        ("Systems", "systems"),
    ):
        md, page = _md_table(board.markdown, heading), _html_table(board.html, table_id)
        assert md == page, heading
        assert len(md) > 1
    # ... and the numbers are the result files', formatted as documented.
    md = _md_table(board.markdown, "Accuracy")
    header, rows = [t for t, _ in md[0]], {r[0][0]: [t for t, _ in r] for r in md[1:]}
    assert header[1:4] == CELLS
    for name in RESULTS:
        data = _load(name)
        for cell in data["cells"]:
            column = header.index(cell["env_id"])
            assert rows[data["label"]][column] == f"{cell['accuracy']:.3f}"
    assert rows["micro-grpo-shared"][4:] == ["0.358", "456.1"]  # (0.3+0.45+0.325)/3, tokens
    per_role = _md_table(board.markdown, "Per-role")[1:]
    roles = {(r[0][0], r[1][0], r[2][0]): [t for t, _ in r] for r in per_role}
    assert roles[("micro-base", "eval-opt-arith-v0", "evaluator")][3:] == [
        "60",
        "19.0",
        "0.150",
        "0.000",
        "–",
        "–",
        "–",
        "0.400",  # precision null -> –
    ]
    assert roles[("micro-grpo-shared", "voting-arith-v0", "aggregator")][8] == "0.650"
    assert len(roles) == 15


def test_best_value_per_column_is_bold(board: Leaderboard) -> None:
    for table in (_md_table(board.markdown, "Accuracy"), _html_table(board.html, "accuracy")):
        header = [t for t, _ in table[0]]
        bold = {(row[0][0], header[j]) for row in table[1:] for j, (_, b) in enumerate(row) if b}
        assert bold == {
            ("micro-grpo-isolated", "eval-opt-arith-v0"),
            ("micro-grpo-isolated", "single-arith-v0"),
            ("micro-grpo-shared", "voting-arith-v0"),
            ("micro-grpo-isolated", "mean accuracy"),
            ("micro-grpo-isolated", "mean tokens/problem"),  # the fewest tokens
        }


def test_ties_are_all_bold_and_partial_means_do_not_compete(tmp_path: Path) -> None:
    isolated = _load("isolated.json")
    isolated["cells"][1]["accuracy"] = 0.4502  # voting: shows as 0.450, like shared
    lone = _load("base.json")
    lone["label"], lone["cells"] = "lone", lone["cells"][:1]
    lone["cells"][0]["accuracy"] = 0.9  # best single-arith and the best mean, on 1 cell of 3
    paths = [FIXTURES / "shared.json", FIXTURES / "base.json"]
    paths += [_write(tmp_path / "iso.json", isolated), _write(tmp_path / "lone.json", lone)]
    lb = build_leaderboard(paths, tmp_path / "out", plots=False)
    table = _md_table(lb.markdown, "Accuracy")
    header = [t for t, _ in table[0]]
    rows = {r[0][0]: r for r in table[1:]}
    voting = header.index("voting-arith-v0")
    assert rows["micro-grpo-shared"][voting] == ("0.450", True)
    assert rows["micro-grpo-isolated"][voting] == ("0.450", True)
    assert rows["lone"][header.index("single-arith-v0")] == ("0.900", True)
    assert rows["lone"][header.index("eval-opt-arith-v0")] == ("–", False)
    assert rows["lone"][header.index("mean accuracy")] == ("0.900†", False)
    assert rows["micro-grpo-isolated"][header.index("mean accuracy")][1]
    assert lb.systems[-1] == "lone"  # incomplete systems rank last
    assert "lone: 1 of 3" in lb.markdown
    # When no system covers every cell, the means compete among all.
    duo = _load("shared.json")
    duo["cells"] = duo["cells"][1:]
    paths = [tmp_path / "lone.json", _write(tmp_path / "duo.json", duo)]
    table = _md_table(build_leaderboard(paths, tmp_path / "out2", plots=False).markdown, "Accuracy")
    assert [row[0][0] for row in table[1:]] == ["lone", "micro-grpo-shared"]
    assert table[1][header.index("mean accuracy")] == ("0.900†", True)


def test_html_is_self_contained_and_sortable(board: Leaderboard) -> None:
    page = board.html
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "<script src" not in page
    assert "<style>" in page
    script = re.search(r"<script>(.*?)</script>", page, re.S)
    assert script and "addEventListener" in script.group(1) and "parseFloat" in script.group(1)
    assert page.count('class="sortable"') == 3
    images = re.findall(r'src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) == len(board.plots) == 4
    assert all(base64.b64decode(data).startswith(PNG_MAGIC) for data in images)


@pytest.mark.skipif(shutil.which("node") is None, reason="needs node to run the page's script")
def test_header_click_sorts_numbers_numerically(board: Leaderboard, tmp_path: Path) -> None:
    tables = []
    for table_id in ("accuracy", "per-role"):
        heads = re.search(rf'<table[^>]*id="{table_id}".*?<thead>(.*?)</thead>', board.html, re.S)
        assert heads
        sorts = re.findall(r'data-sort="(\w+)"', heads.group(1))
        rows = [[t for t, _ in row] for row in _html_table(board.html, table_id)[1:]]
        tables.append({"id": table_id, "sorts": sorts, "rows": rows})
    script = re.search(r"<script>(.*?)</script>", board.html, re.S)
    assert script
    # A minimal DOM: just what the script touches.
    harness = """
const data = JSON.parse(require("fs").readFileSync(0, "utf8"));
function head(sort) {
  const attrs = {"data-sort": sort}, listeners = [];
  return {getAttribute: (k) => (k in attrs ? attrs[k] : null),
          setAttribute: (k, v) => { attrs[k] = String(v); },
          removeAttribute: (k) => { delete attrs[k]; },
          addEventListener: (_, f) => listeners.push(f),
          click: () => listeners.forEach((f) => f())};
}
const tables = data.tables.map((t) => {
  const heads = t.sorts.map(head);
  const body = {rows: t.rows.map((r) => ({cells: r.map((x) => ({textContent: x}))})),
                appendChild(row) {
                  this.rows.splice(this.rows.indexOf(row), 1);
                  this.rows.push(row);
                }};
  return {id: t.id, heads, tBodies: [body], querySelectorAll: () => heads};
});
global.document = {querySelectorAll: () => tables};
eval(data.script);
console.log(JSON.stringify(data.clicks.map(([id, col, show]) => {
  const t = tables.find((x) => x.id === id);
  t.heads[col].click();
  return t.tBodies[0].rows.map((r) => r.cells[show].textContent);
})));
"""
    tokens, precision = 5, 9  # "mean tokens/problem"; the per-role "precision"
    clicks = [
        ["accuracy", tokens, 0],
        ["accuracy", tokens, 0],
        ["accuracy", 0, 0],
        ["per-role", precision, precision],
        ["per-role", precision, precision],
    ]
    (tmp_path / "harness.js").write_text(harness)
    done = subprocess.run(
        ["node", str(tmp_path / "harness.js")],
        input=json.dumps({"tables": tables, "script": script.group(1), "clicks": clicks}),
        capture_output=True,
        text=True,
        timeout=300,  # only against a hang
        check=True,
    )
    asc, desc, by_name, p_asc, p_desc = json.loads(done.stdout)
    # 81.0 < 88.6 < 456.1 as numbers (as text "456.1" would come first).
    assert asc == ["micro-grpo-isolated", "micro-base", "micro-grpo-shared"]
    assert desc == asc[::-1]
    assert by_name == ["micro-base", "micro-grpo-isolated", "micro-grpo-shared"]
    assert p_asc[:2] == ["0.550", "0.600"] and set(p_asc[2:]) == {"–"}  # missing: always last
    assert p_desc[:2] == ["0.600", "0.550"] and set(p_desc[2:]) == {"–"}


def test_files_and_plots_are_written(board: Leaderboard) -> None:
    out = board.paths["markdown"].parent
    assert board.paths == {
        "markdown": out / "leaderboard.md",
        "html": out / "leaderboard.html",
        "json": out / "leaderboard.json",
    }
    assert board.paths["markdown"].read_text() == board.markdown
    assert board.paths["html"].read_text() == board.html
    assert set(board.plots) == {
        "accuracy",
        "single_vs_workflow",
        "shared_vs_isolated",
        "tokens_vs_accuracy",
    }
    assert not board.skipped_plots
    for name, path in board.plots.items():
        assert path == out / "plots" / f"{name}.png"
        data = path.read_bytes()
        assert data.startswith(PNG_MAGIC) and len(data) > 5000, name
        assert f"](plots/{name}.png)" in board.markdown
    rows = json.loads(board.paths["json"].read_text())
    assert rows["schema"] == "rolegym.leaderboard/1"
    assert rows["cells"] == CELLS
    assert len(rows["rows"]) == 9
    first = rows["rows"][0]
    assert (first["label"], first["env_id"], first["accuracy"]) == (
        "micro-grpo-isolated",
        "eval-opt-arith-v0",
        0.375,
    )
    assert first["system"]["policy"] == "isolated" and "evaluator" in first["roles"]


def test_no_global_pyplot_state(tmp_path: Path) -> None:
    had_pyplot = "matplotlib.pyplot" in sys.modules
    build_leaderboard(FIXTURES / "base.json", tmp_path)
    if not had_pyplot:
        assert "matplotlib.pyplot" not in sys.modules


def test_shared_vs_isolated_skipped_without_a_pair(tmp_path: Path) -> None:
    out = tmp_path / "out"
    build_leaderboard(FIXTURES, out)
    assert (out / "plots" / "shared_vs_isolated.png").exists()
    lb = build_leaderboard([FIXTURES / "base.json", FIXTURES / "shared.json"], out)
    assert "shared_vs_isolated" not in lb.plots
    assert "pair" in lb.skipped_plots["shared_vs_isolated"]
    assert not (out / "plots" / "shared_vs_isolated.png").exists()  # the stale one is gone
    assert "Shared vs Isolated policy: skipped" in lb.markdown
    assert 'id="plot-shared_vs_isolated"' not in lb.html
    assert len(re.findall(r'src="data:image/png;base64,', lb.html)) == 3


def test_pairs_match_by_model_and_train_env(tmp_path: Path) -> None:
    shared, isolated = _load("shared.json"), _load("isolated.json")
    shared["label"], isolated["label"] = "alpha", "beta"  # labels say nothing of the policy
    paths = [_write(tmp_path / "a.json", shared), _write(tmp_path / "b.json", isolated)]
    lb = build_leaderboard(paths, tmp_path / "paired")
    assert "shared_vs_isolated" in lb.plots
    isolated["system"]["train_env"] = "eval-opt-arith-v0"  # trained elsewhere: no pair
    _write(tmp_path / "b.json", isolated)
    lb = build_leaderboard(paths, tmp_path / "unpaired")
    assert "shared_vs_isolated" in lb.skipped_plots


def test_single_vs_workflow_skipped_without_single_cells(tmp_path: Path) -> None:
    paths = []
    for name in RESULTS:
        data = _load(name)
        data["cells"] = [c for c in data["cells"] if c["workflow"] != "single"]
        paths.append(_write(tmp_path / name, data))
    lb = build_leaderboard(paths, tmp_path / "out")
    assert "single_vs_workflow" in lb.skipped_plots
    assert set(lb.plots) == {"accuracy", "shared_vs_isolated", "tokens_vs_accuracy"}
    assert lb.cells == ["eval-opt-arith-v0", "voting-arith-v0"]


def test_directory_input_skips_other_json(tmp_path: Path) -> None:
    results = tmp_path / "results"
    shutil.copytree(FIXTURES, results / "nested")
    (results / "metrics.json").write_text("[1, 2, 3]")
    (results / "broken.json").write_text("{not json")  # not a result file either
    (results / "readme.txt").write_text("ignored")
    first = build_leaderboard(results, results / "board", plots=False)
    assert first.systems == ["micro-grpo-isolated", "micro-grpo-shared", "micro-base"]
    # Its own leaderboard.json now lies under the directory: never read back as a result.
    twice = [results, results / "nested" / "base.json"]  # the same file twice counts once
    again = build_leaderboard(twice, tmp_path / "again", plots=False)
    assert again.markdown.split("## Systems")[0] == first.markdown.split("## Systems")[0]
    assert len(again.rows) == 9


def test_invalid_result_file_raises_naming_it(tmp_path: Path) -> None:
    bad = _load("base.json")
    bad["cells"][0]["accuracy"] = 1.5
    path = _write(tmp_path / "results" / "sub" / "bad.json", bad)
    with pytest.raises(SchemaError, match=re.escape(str(path))):
        build_leaderboard(tmp_path / "results", tmp_path / "out")
    with pytest.raises(SchemaError, match=re.escape(str(path))):
        build_leaderboard([FIXTURES, path], tmp_path / "out")
    path.write_text('{"schema": "rolegym.eval/1", "label": ')  # truncated
    with pytest.raises(SchemaError, match=re.escape(str(path)) + ".*not JSON"):
        build_leaderboard(tmp_path / "results", tmp_path / "out")
    # A non-result file named explicitly is an error, not silently skipped.
    with pytest.raises(SchemaError, match=r"notes\.json"):
        build_leaderboard(FIXTURES / "notes.json", tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_nothing_to_show_and_conflicts_raise(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match=r"no rolegym\.eval/1 result files"):
        build_leaderboard(tmp_path / "empty", tmp_path / "out")
    with pytest.raises(FileNotFoundError, match="missing"):
        build_leaderboard(tmp_path / "missing", tmp_path / "out")
    copy = _write(tmp_path / "copy.json", _load("base.json"))
    with pytest.raises(ValueError, match=r"copy\.json.*also in.*base\.json"):
        build_leaderboard([FIXTURES / "base.json", copy], tmp_path / "out")
    other = _load("shared.json")
    other["label"] = "micro-base"
    clash = _write(tmp_path / "clash.json", other)
    with pytest.raises(ValueError, match="different system"):
        build_leaderboard([FIXTURES / "base.json", clash], tmp_path / "out")


def test_labels_are_escaped(tmp_path: Path) -> None:
    data = _load("base.json")
    data["label"] = "a|b <c> *d*"
    lb = build_leaderboard(_write(tmp_path / "x.json", data), tmp_path / "out", plots=False)
    md, page = _md_table(lb.markdown, "Accuracy"), _html_table(lb.html, "accuracy")
    assert md == page
    assert md[1][0] == ("a|b <c> *d*", False)
    assert len(md[1]) == len(md[0]) == 6
    assert "<c>" not in lb.html.split("<body>")[1]


def test_pairs_match_by_label_first(tmp_path: Path) -> None:
    paths = [FIXTURES / "base.json"]
    for step in (100, 200):  # same model and train_env twice: only the labels tell them apart
        for name in ("shared.json", "isolated.json"):
            data = _load(name)
            data["label"] = f"{data['label']}-s{step}"
            data["system"]["step"] = step
            paths.append(_write(tmp_path / f"{step}-{name}", data))
    lb = build_leaderboard(paths, tmp_path / "out", plots=False)
    assert sorted(lb.policy_pairs) == [
        ("micro-grpo-shared-s100", "micro-grpo-isolated-s100"),
        ("micro-grpo-shared-s200", "micro-grpo-isolated-s200"),
    ]


def test_differing_protocols_are_listed(tmp_path: Path) -> None:
    hot = _load("shared.json")
    hot["protocol"]["temperature"] = 1.0
    paths = [FIXTURES / "base.json", _write(tmp_path / "hot.json", hot)]
    lb = build_leaderboard(paths, tmp_path / "out", plots=False)
    assert "Protocols differ between systems:" in lb.markdown
    assert "- split=test, problems=40, samples=1, seed=0, temperature=1.0" in lb.markdown
    assert "temperature=0.7, max_new_tokens=64: micro-base" in lb.html
