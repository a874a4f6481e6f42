"""The benchmark against an earlier commit: turn-taking, medians and the speedup, on a faked runner."""

import subprocess
from pathlib import Path

import pytest

from utils.lab import against


def fake_runner(seconds: dict, calls: list):
    """A ``run`` that records (side, recipe) and answers each side's next seconds."""

    def run(tree: Path, recipe: str, options):
        side = "ours" if tree == against.ROOT else "baseline"
        calls.append((side, recipe, tuple(options)))
        assert (tree / "utils").is_dir()  # the baseline is a real checkout
        return {"recipe": recipe, "epochs": 90, "train_seconds": seconds[side].pop(0), "recall@10": 0.26, "ndcg@10": 0.31, "hit@10": 0.9,
                "device": "cpu", "threads": 2}  # fmt: skip

    return run


def test_sides_take_turns_and_the_medians_give_the_speedup():
    def worktrees() -> str:
        return subprocess.run(["git", "worktree", "list"], capture_output=True, text=True, cwd=against.ROOT, check=True).stdout  # noqa: S603, S607

    before = worktrees()
    calls = []
    seconds = {"ours": [4.0, 6.0, 5.0], "baseline": [10.0, 14.0, 12.0]}
    lines = against.compare("HEAD", ["default"], ["--device", "cpu"], rounds=3, run=fake_runner(seconds, calls))
    assert [side for side, _, _ in calls] == ["ours", "baseline", "baseline", "ours", "ours", "baseline"]
    assert all(options == ("--device", "cpu") for _, _, options in calls)
    (line,) = lines
    assert line["train_seconds"] == 5.0 and line["baseline"]["train_seconds"] == 12.0
    assert line["speedup"] == pytest.approx(12.0 / 5.0)
    assert line["baseline"]["commit"] == subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True,  # noqa: S603, S607
                                                        text=True, cwd=against.ROOT, check=True).stdout.strip()  # fmt: skip
    assert worktrees() == before  # the baseline's worktree is removed after the run


def test_an_unknown_commit_or_no_rounds_is_a_clear_error():
    with pytest.raises(against.BaselineError, match="no-such-commit"):
        against.compare("no-such-commit", ["default"], [], run=fake_runner({}, []))
    with pytest.raises(against.BaselineError, match="rounds must be 1 or more"):
        against.compare("HEAD", ["default"], [], rounds=0, run=fake_runner({}, []))


def test_the_bench_module_is_found_where_a_tree_keeps_it(tmp_path):
    (tmp_path / "utils").mkdir()
    (tmp_path / "utils" / "bench.py").write_text("")
    assert against.bench_module(tmp_path) == "utils.bench"
    assert against.bench_module(against.ROOT) == "utils.lab.bench"
    with pytest.raises(against.BaselineError, match="holds no benchmark"):
        against.bench_module(tmp_path / "utils")
