"""The benchmark against an earlier commit: the same recipes, this tree and that commit taking turns.

``python -m utils.lab.bench --baseline-commit COMMIT --recipes default,mf,ngcf`` checks ``COMMIT``
out into a temporary git worktree and trains each named recipe there and here, in fresh processes
(each one ``python -m …bench --recipes NAME`` of its own tree), the two taking turns for
``--rounds`` rounds (the first of each pair alternating, so a slow moment of a noisy machine is
shared). It prints one JSON line per recipe: the median ``train_seconds`` of each side, their
``speedup`` (the baseline's seconds over ours: above 1, ours trains faster) and both sides' final
Recall@10 and NDCG@10. A recipe is each side's own: what ``default`` means at ``COMMIT`` is what
that commit's registry said.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: The bench's module, by where it lives in a tree (it moved into the lab).
BENCH_MODULES = (("utils/lab/bench.py", "utils.lab.bench"), ("utils/bench.py", "utils.bench"))
REPORTED = ("epochs", "train_seconds", "recall@10", "ndcg@10", "hit@10")


class BaselineError(RuntimeError):
    """The baseline commit could not be checked out or benchmarked; the message says why."""


def _git(*args: str) -> str:
    done = subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True)  # noqa: S603, S607 (git, fixed arguments)
    if done.returncode != 0:
        raise BaselineError(f"git {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout.strip()


def bench_module(tree: Path) -> str:
    """The module that runs the bench in ``tree``."""
    for path, module in BENCH_MODULES:
        if (tree / path).is_file():
            return module
    raise BaselineError(f"{tree} holds no benchmark ({' or '.join(path for path, _ in BENCH_MODULES)}).")


def run_one(tree: Path, recipe: str, options: Sequence[str]) -> dict:
    """Train ``recipe`` with ``tree``'s bench in a fresh process; its JSON line."""
    command = [sys.executable, "-m", bench_module(tree), "--recipes", recipe, *options]
    environment = {**os.environ, "PYTHONPATH": str(tree)}
    done = subprocess.run(command, cwd=tree, env=environment, capture_output=True, text=True)  # noqa: S603 (our interpreter, our module)
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    found = [line for line in lines if line.get("recipe") == recipe]
    if done.returncode != 0 or not found:
        raise BaselineError(f"{' '.join(command[2:])} in {tree} failed (exit {done.returncode}):\n{done.stderr[-2000:]}")
    return found[0]


def summarize(recipe: str, ours: list[dict], theirs: list[dict], commit: str) -> dict:
    """One recipe's line from its rounds: medians of the seconds, the metrics of the first round."""
    ours_seconds = statistics.median(line["train_seconds"] for line in ours)
    their_seconds = statistics.median(line["train_seconds"] for line in theirs)
    return {
        "recipe": recipe,
        "rounds": len(ours),
        **{key: ours[0][key] for key in REPORTED if key != "train_seconds"},
        "train_seconds": round(ours_seconds, 3),
        "baseline": {"commit": commit, **{key: theirs[0][key] for key in REPORTED if key != "train_seconds"},
                     "train_seconds": round(their_seconds, 3)},  # fmt: skip
        "speedup": round(their_seconds / ours_seconds, 3) if ours_seconds > 0 else None,
        "device": ours[0].get("device"),
        "threads": ours[0].get("threads"),
        **({"per_step": ours[0]["per_step"]} if "per_step" in ours[0] else {}),
    }


def compare(commit: str, recipes: Sequence[str], options: Sequence[str], rounds: int = 2,
            run: Callable[[Path, str, Sequence[str]], dict] = run_one) -> list[dict]:  # fmt: skip
    """Benchmark ``recipes`` here and at ``commit``, taking turns; one summary line per recipe, printed as it comes."""
    if rounds < 1:
        raise BaselineError(f"--rounds must be 1 or more, got {rounds}.")
    resolved = _git("rev-parse", "--short", f"{commit}^{{commit}}")
    folder = Path(tempfile.mkdtemp(prefix="bench-baseline-")) / resolved
    _git("worktree", "add", "--detach", str(folder), resolved)
    try:
        summaries = []
        for recipe in recipes:
            ours, theirs = [], []
            for round_number in range(rounds):
                sides = [(ROOT, ours), (folder, theirs)]
                for tree, lines in sides if round_number % 2 == 0 else sides[::-1]:
                    print(f"[bench] {recipe}, round {round_number + 1}: {'baseline ' + resolved if tree == folder else 'this tree'} ...",
                          file=sys.stderr, flush=True)  # fmt: skip
                    lines.append(run(tree, recipe, options))
            summaries.append(summarize(recipe, ours, theirs, resolved))
            print(json.dumps(summaries[-1]), flush=True)
        return summaries
    finally:
        _git("worktree", "remove", "--force", str(folder))
