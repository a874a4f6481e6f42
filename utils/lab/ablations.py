"""The comparison of notebook 06: LightGCN against MF-BPR, NGCF-style variants and non-graph baselines.

Every trained model uses the same loop, sampler, loss and evaluation (:mod:`utils.training`,
:mod:`utils.metrics`); only the model changes. Each is trained on ``ua.base`` over several seeds
and scored once on ``ua.test``.

``python -m utils.lab.ablations [--out FILE]`` runs the slow half, :func:`choose_epochs` for every
variant, and saves each one's validation curve and chosen epochs with the command, commit and
machine that produced them (default ``notebooks/results/ablation_epochs.json``); notebook 06's class
setting reads that file (:func:`load_chosen_epochs`) instead of training every variant on
validation again, and ``tests/test_ablation_results.py`` holds it to the recipe registry's epochs.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import pandas as pd
import torch

from utils.baselines import ease_scores
from utils.data import MovieLens, validation_split
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator, popularity_scores
from utils.progress import progress_bar
from utils.recipes import RECIPES, Recipe
from utils.training import pick_device, ranking_monitor, train_model

#: Where ``python -m utils.lab.ablations`` saves the epochs it chose, and notebook 06 reads them.
EPOCHS_FILE = Path(__file__).resolve().parents[2] / "notebooks" / "results" / "ablation_epochs.json"

#: The trained models compared, by display name: recipes of :data:`utils.recipes.RECIPES`, each a
#: variant of ``default`` that changes one thing. All share ``default``'s training config except
#: for the number of epochs, which :func:`choose_epochs` picks for each the same way; MF-BPR has its
#: own config, since a model without propagation needs far stronger regularisation and a comparison
#: with an untuned baseline would flatter LightGCN.
COMPARISON = {
    "MF-BPR (0 layers, own recipe)": "mf",
    "LightGCN, 1 layer": "lightgcn-1",
    "LightGCN, 2 layers": "lightgcn-2",
    "LightGCN, 3 layers": "default",
    "LightGCN, 4 layers": "lightgcn-4",
    "NGCF-style (W + LeakyReLU)": "ngcf",
    "NGCF w/o feature transformation": "ngcf-no-w",
    "NGCF w/o non-linearity": "ngcf-linear",
}


def comparison_recipes() -> dict[str, Recipe]:
    """The recipes of :data:`COMPARISON`, by display name."""
    return {display: RECIPES[name] for display, name in COMPARISON.items()}


def choose_epochs(
    dataset: MovieLens,
    recipes: dict[str, Recipe],
    max_epochs: int = 100,
    eval_every: int = 5,
    validation_per_user: int = 5,
    monitor: str = "recall@10",
    device=None,
    progress: bool = True,
) -> tuple[dict[str, int], dict[str, pd.Series]]:
    """Each recipe's number of epochs, chosen on validation the same way for all of them.

    Every recipe trains once (its own seed) for ``max_epochs`` on ``dataset``'s training split minus
    ``validation_per_user`` held-out ratings per user, measuring ``monitor`` on those every
    ``eval_every`` epochs; its epochs are those of its best measurement (the earliest, on a tie).
    Returns the chosen epochs and each recipe's validation curve (``monitor`` by epoch).
    """
    fit, validation = validation_split(dataset.train, per_user=validation_per_user, seed=0)
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
    evaluate = ranking_monitor(RankingEvaluator.from_dataset(dataset, train=fit, test=validation), adjacency)
    chosen, curves = {}, {}
    for name, recipe in progress_bar(list(recipes.items()), desc="choosing epochs", disable=not progress):
        run = recipe.with_config(epochs=max_epochs, eval_every=eval_every, patience=None, monitor=monitor)
        history = train_model(run.build_model(dataset.num_users, dataset.num_items), adjacency, users, items, run.config,
                              evaluate=evaluate, device=device, progress=False)  # fmt: skip
        curves[name] = history.to_frame()[monitor].dropna()
        chosen[name] = int(curves[name].idxmax())
    return chosen, curves


def run_comparison(
    dataset: MovieLens,
    recipes: dict[str, Recipe],
    seeds=(0, 1, 2),
    epochs: int | dict[str, int] | None = None,
    device=None,
    progress: bool = True,
    ease_regularization: float | None = None,
    per_user: bool = False,
) -> tuple[pd.DataFrame, dict]:
    """Train every recipe once per seed; return one row per (model, seed) and the seed-0 models.

    ``epochs`` overrides the recipes' own: one number for all, or one per display name (e.g. from
    :func:`choose_epochs`).

    Rows hold ``recall@10``, ``ndcg@10`` and ``train_seconds``. With ``ease_regularization``, the
    most-popular baseline and EASE (deterministic, so one row each) come first. With ``per_user``,
    each row also holds ``per_user_recall@10`` and ``per_user_ndcg@10``: one value per test user,
    the users in the same order in every row, for paired comparisons
    (:func:`utils.lab.analysis.paired_bootstrap`).
    """
    users, items = dataset.train_pairs()
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
    evaluator = RankingEvaluator.from_dataset(dataset)
    rows, models = [], {}

    if ease_regularization is not None:
        baselines = {
            "most popular": lambda: popularity_scores(items, dataset.num_items),
            "EASE": lambda: ease_scores(users, items, dataset.num_users, dataset.num_items, ease_regularization),
        }
        for name, make_scores in baselines.items():
            started = time.perf_counter()
            scores = make_scores()
            seconds = time.perf_counter() - started
            metrics = evaluator.evaluate(scores, per_user=per_user)
            rows.append({"model": name, "seed": None, **_headline(metrics, per_user), "train_seconds": seconds})

    runs = [(name, recipe, seed) for name, recipe in recipes.items() for seed in seeds]
    for name, recipe, seed in progress_bar(runs, desc="models × seeds", disable=not progress):
        override = epochs.get(name) if isinstance(epochs, dict) else epochs
        run = recipe.with_config(seed=seed, eval_every=0, epochs=override or recipe.config.epochs)
        model = run.build_model(dataset.num_users, dataset.num_items)
        history = train_model(model, adjacency, users, items, run.config, device=device, progress=False)
        model.eval()
        metrics = evaluator.evaluate(model.scorer(adjacency.to(history.device)), per_user=per_user)
        rows.append(
            {"model": name, "seed": seed, **_headline(metrics, per_user), "train_seconds": history.train_seconds}
        )
        if seed == seeds[0]:
            models[name] = model.cpu()
    return pd.DataFrame(rows), models


def summarize(results: pd.DataFrame) -> pd.DataFrame:
    """Mean and standard deviation over seeds for each model, in the order the models were run."""
    order = list(dict.fromkeys(results["model"]))
    grouped = results.groupby("model", sort=False)[["recall@10", "ndcg@10", "train_seconds"]]
    table = grouped.agg(["mean", "std"])
    table.columns = [f"{metric} {stat}" for metric, stat in table.columns]
    table["seeds"] = results.groupby("model", sort=False)["seed"].count()
    return table.loc[order]


def _headline(metrics: dict, per_user: bool = False) -> dict:
    names = ("recall@10", "ndcg@10")
    return {
        **{name: metrics[name] for name in names},
        **({f"per_user_{name}": metrics[f"per_user_{name}"] for name in names} if per_user else {}),
    }


def save_chosen_epochs(path, chosen: dict[str, int], curves: dict[str, pd.Series], recipes: dict[str, Recipe],
                       run: dict) -> None:  # fmt: skip
    """Write :func:`choose_epochs`' result to ``path`` (JSON): ``run`` (how it was made: command,
    commit, machine, settings) and, per variant, its recipe's name, config and model arguments,
    the chosen epochs and the validation curve (6 decimals, so two epochs may tie in the file where
    the unrounded values chose one)."""
    variants = [{"model": name, "recipe": recipes[name].name, "model_args": dict(recipes[name].model_args),
                 "config": dataclasses.asdict(recipes[name].config), "chosen_epochs": int(chosen[name]),
                 "validation_curve": {str(int(epoch)): round(float(value), 6) for epoch, value in curves[name].items()}}
                for name in chosen]  # fmt: skip
    Path(path).write_text(
        json.dumps({"run": run, "variants": variants}, indent=1, ensure_ascii=False) + "\n", encoding="utf-8"
    )


def load_chosen_epochs(path=EPOCHS_FILE) -> tuple[dict[str, int], dict[str, pd.Series], dict]:
    """The epochs, validation curves and run description that :func:`save_chosen_epochs` wrote."""
    saved = json.loads(Path(path).read_text(encoding="utf-8"))
    chosen = {variant["model"]: variant["chosen_epochs"] for variant in saved["variants"]}
    curves = {variant["model"]: pd.Series({int(epoch): value for epoch, value in variant["validation_curve"].items()},
                                          name=saved["run"].get("monitor", "recall@10")).rename_axis("epoch")
              for variant in saved["variants"]}  # fmt: skip
    return chosen, curves, saved["run"]


def _commit() -> tuple[str, list[str]]:
    """The checked-out commit, and the files under utils/ that differ from it (they make the run)."""
    root = Path(__file__).resolve().parents[2]

    def git(*args):
        return subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True, check=True).stdout  # noqa: S603, S607 (git, fixed arguments)

    try:
        head, status = git("rev-parse", "HEAD").strip(), git("status", "--porcelain", "--", "utils")
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)", []
    return head, sorted(line[3:] for line in status.splitlines() if line.strip())


def main(argv: Sequence[str] | None = None) -> dict:
    """``python -m utils.lab.ablations``: choose every comparison variant's epochs on validation and save them."""
    from utils.datasets.cli import add_dataset_arguments, dataset_from_args

    parser = argparse.ArgumentParser(prog="python -m utils.lab.ablations", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", default=str(EPOCHS_FILE), help="the JSON file to write (default: %(default)s)")
    parser.add_argument(
        "--max-epochs", type=int, default=100, help="epochs each variant trains on validation (default 100)"
    )
    parser.add_argument("--eval-every", type=int, default=5, help="epochs between validation measurements (default 5)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    add_dataset_arguments(parser)
    args = parser.parse_args(argv)
    dataset = dataset_from_args(args)
    device = pick_device(args.device)
    recipes = comparison_recipes()
    started = time.perf_counter()
    chosen, curves = choose_epochs(
        dataset, recipes, max_epochs=args.max_epochs, eval_every=args.eval_every, device=device
    )
    command = "python -m utils.lab.ablations" + "".join(
        f" {arg}" for arg in (argv if argv is not None else sys.argv[1:])
    )
    commit, uncommitted = _commit()
    run = {"command": command, "commit": commit, "uncommitted_changes": uncommitted, "date": date.today().isoformat(),
           "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores, {device} with {torch.get_num_threads()} threads; "
                      f"torch {torch.__version__}",
           "wall_seconds": round(time.perf_counter() - started, 1), "dataset": dataset.name, "split": dataset.split,
           "max_epochs": args.max_epochs, "eval_every": args.eval_every, "validation_per_user": 5, "monitor": "recall@10"}  # fmt: skip
    for name, epochs in chosen.items():
        print(f"{name:32} {recipes[name].name:12} chosen epochs {epochs:4d}  (registry: {recipes[name].config.epochs})")
    save_chosen_epochs(args.out, chosen, curves, recipes, run)
    print(f"saved {args.out}")
    return run


if __name__ == "__main__":
    main()
