"""The README's benchmark and demo tables are what ``benchmarks/readme_table.py`` renders."""

from __future__ import annotations

import importlib.util
import json
import shutil
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "results"


def _load():
    spec = importlib.util.spec_from_file_location(
        "readme_table", ROOT / "benchmarks" / "readme_table.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["readme_table"] = module  # dataclasses look their module up while built
    spec.loader.exec_module(module)
    return module


rt = _load()


@pytest.fixture
def results(tmp_path: Path) -> Path:
    """A copy of the committed results, to change."""
    return Path(shutil.copytree(RESULTS, tmp_path / "results"))


def test_readme_table_matches_committed_results() -> None:
    readme = (ROOT / "README.md").read_text()
    assert rt.readme_table(readme) == rt.table(RESULTS), (
        "README.md's benchmark table is stale: run `python benchmarks/readme_table.py`"
    )


def test_check_flag_passes_on_the_committed_readme() -> None:
    assert rt.main(rt.Config(results_dir=RESULTS, readme=ROOT / "README.md", check=True)) == 0


def test_changed_figure_changes_its_cell(results: Path) -> None:
    before = rt.table(results).splitlines()
    path = results / "env_overhead.json"
    data = json.loads(path.read_text())
    data["workflows"]["voting-arith-v0"]["wrong"]["turns_per_s"] = 12_345.6
    data["workflows"]["voting-arith-v0"]["wrong"]["ratio_to_peer"] = 2.345
    path.write_text(json.dumps(data))
    after = rt.table(results).splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1
    old, new = changed[0]
    assert "`voting-arith-v0`" in new and "| 12,345 |" not in new
    assert "| 12,346 |" in new and "| 2.35x per-step cost (<= 3x) |" in new
    assert "| 21,275 |" in old and "| 1.06x per-step cost (<= 3x) |" in old


def test_check_fails_with_a_diff_on_a_stale_readme(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(
        f"intro\n\n{rt.START}\n\n{rt.table(results)}\n{rt.END}\n\noutro\n"
        f"{rt.DEMO_START}\n\n{rt.demo_table(results)}\n{rt.DEMO_END}\n"
        f"{rt.SEEDS_START}\n\n{rt.demo_seeds_table(results)}\n{rt.SEEDS_END}\n"
    )
    data = json.loads((results / "rollout.json").read_text())
    data["workflows"]["voting-arith-v0"]["speedup"] = 3.0
    (results / "rollout.json").write_text(json.dumps(data))
    capsys.readouterr()
    assert rt.main(rt.Config(results_dir=results, readme=readme, check=True)) == 1
    assert "+| `rollout.py` | 64 episodes of `voting-arith-v0`" in capsys.readouterr().out
    assert rt.main(rt.Config(results_dir=results, readme=readme)) == 0  # rewrite
    text = readme.read_text()
    assert text.startswith("intro\n\n") and f"{rt.END}\n\noutro\n" in text
    assert "| 3.0x faster (Voting: 2 calls, >= 5x) |" in text
    assert rt.main(rt.Config(results_dir=results, readme=readme, check=True)) == 0


def test_missing_results_file_drops_its_rows(
    results: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    full = rt.table(results).splitlines()
    (results / "rollout.json").unlink()
    capsys.readouterr()
    partial = rt.table(results).splitlines()
    assert "rollout.json is missing" in capsys.readouterr().err
    assert partial == [line for line in full if not line.startswith("| `rollout.py` |")]
    assert len(full) - len(partial) == 4


def test_readme_demo_table_matches_committed_demo_json() -> None:
    readme = (ROOT / "README.md").read_text()
    assert rt.readme_table(readme, (rt.DEMO_START, rt.DEMO_END)) == rt.demo_table(RESULTS), (
        "README.md's demo table is stale: run `python benchmarks/readme_table.py`"
    )


def test_demo_table_renders_every_figure_of_demo_json(results: Path) -> None:
    data = json.loads((results / "demo.json").read_text())
    lines = rt.demo_table(results).splitlines()
    rows = [line for line in lines if line.startswith("| ") and "---" not in line][1:]
    assert len(rows) == len(data["matrix"]) == 4
    for line, row in zip(rows, data["matrix"], strict=True):
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        keys = ("random", "warm_start", "shared", "isolated")
        assert cells == [row["workflow"], *(f"{row[k]:.3f}" for k in keys)]
    intro = " ".join(lines[: lines.index("")])
    assert f"in {data['wall_s'] / 60:.1f} minutes" in intro
    assert f"seed {data['config']['seed']}, {data['threads']} torch thread" in intro


def test_changed_demo_figure_changes_its_cell_and_fails_the_check(
    results: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    readme = tmp_path / "README.md"
    demo = f"{rt.DEMO_START}\n\n{rt.demo_table(results)}\n{rt.DEMO_END}\n\nafter\n"
    demo += f"{rt.SEEDS_START}\n\n{rt.demo_seeds_table(results)}\n{rt.SEEDS_END}\n"
    readme.write_text(f"{rt.START}\n\n{rt.table(results)}\n{rt.END}\n\n## The demo\n\n{demo}")
    before = rt.demo_table(results).splitlines()
    path = results / "demo.json"
    data = json.loads(path.read_text())
    data["matrix"][2]["isolated"] = 0.4321
    path.write_text(json.dumps(data))
    after = rt.demo_table(results).splitlines()
    changed = [(b, a) for b, a in zip(before, after, strict=True) if b != a]
    assert len(changed) == 1 and changed[0][1].startswith("| eval-opt |")
    assert changed[0][1].endswith(" | 0.432 |")
    capsys.readouterr()
    assert rt.main(rt.Config(results_dir=results, readme=readme, check=True)) == 1
    out = capsys.readouterr().out
    assert "(demo table)" in out and "+| eval-opt |" in out and "(benchmark table)" not in out
    assert rt.main(rt.Config(results_dir=results, readme=readme)) == 0  # rewrite
    assert f"{rt.DEMO_END}\n\nafter\n{rt.SEEDS_START}" in readme.read_text()
    assert rt.main(rt.Config(results_dir=results, readme=readme, check=True)) == 0


def test_readme_without_demo_markers_fails_the_check(results: Path, tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text(f"{rt.START}\n\n{rt.table(results)}\n{rt.END}\n")
    with pytest.raises(ValueError, match="demo-table:start"):
        rt.main(rt.Config(results_dir=results, readme=readme, check=True))


def _demo_seeds():
    spec = importlib.util.spec_from_file_location(
        "demo_seeds", ROOT / "benchmarks" / "demo_seeds.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules["demo_seeds"] = module
    spec.loader.exec_module(module)
    return module


def test_demo_seeds_compares_gains_with_the_spread_and_renders_every_row(
    results: Path,
) -> None:
    ds = _demo_seeds()

    def summary(warm: float, shared: float, isolated: float) -> dict:
        row = {"workflow": "voting", "warm_start": warm, "shared": shared, "isolated": isolated}
        return {"config": {"policies": ["shared", "isolated"]}, "matrix": [row]}

    rows = ds.compare([summary(0.4, 0.70, 0.50), summary(0.42, 0.66, 0.60)])
    shared, isolated = rows
    assert shared["gain"] == pytest.approx([0.30, 0.24]) and shared["spread"] == pytest.approx(0.04)
    assert shared["gain_exceeds_spread"]
    # gains 0.10 and 0.18, but the seeds' trained accuracies differ by 0.10: not above it
    assert isolated["spread"] == pytest.approx(0.10) and not isolated["gain_exceeds_spread"]
    path = results / "demo_seeds.json"
    path.write_text(json.dumps({"seeds": [0, 1], "rows": rows, "wall_s": [600.0, 630.0]}))
    lines = rt.demo_seeds_table(results).splitlines()
    intro = " ".join(lines[: lines.index("")])
    assert "above the spread in 1 of 2 cells" in intro and "10.0 and 10.5 minutes" in intro
    assert lines[-2] == (
        "| voting | Shared-Policy | 0.400 / 0.420 | 0.700 / 0.660 | +0.300 / +0.240 | 0.040 | yes |"
    )
    assert lines[-1].endswith("| 0.100 | **no** |")


def test_readme_demo_seeds_table_matches_committed_json() -> None:
    readme = (ROOT / "README.md").read_text()
    markers = (rt.SEEDS_START, rt.SEEDS_END)
    assert rt.readme_table(readme, markers) == rt.demo_seeds_table(RESULTS), (
        "README.md's demo seeds table is stale: run `python benchmarks/readme_table.py`"
    )
