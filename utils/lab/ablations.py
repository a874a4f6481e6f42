"""The comparison of notebook 06: LightGCN against MF-BPR, NGCF-style variants and non-graph baselines.

Every trained model uses the same loop, sampler, loss and evaluation (:mod:`utils.training`,
:mod:`utils.metrics`); only the model changes. Each is trained on ``ua.base`` over several seeds
and scored once on ``ua.test``.
"""

from __future__ import annotations

import time

import pandas as pd

from utils.baselines import ease_scores
from utils.data import MovieLens, validation_split
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator, popularity_scores
from utils.progress import progress_bar
from utils.recipes import RECIPES, Recipe
from utils.training import ranking_monitor, train_model

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
) -> tuple[pd.DataFrame, dict]:
    """Train every recipe once per seed; return one row per (model, seed) and the seed-0 models.

    ``epochs`` overrides the recipes' own: one number for all, or one per display name (e.g. from
    :func:`choose_epochs`).

    Rows hold ``recall@10``, ``ndcg@10`` and ``train_seconds``. With ``ease_regularization``, the
    most-popular baseline and EASE (deterministic, so one row each) come first.
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
            rows.append({"model": name, "seed": None, **_headline(evaluator.evaluate(scores)), "train_seconds": seconds})

    runs = [(name, recipe, seed) for name, recipe in recipes.items() for seed in seeds]
    for name, recipe, seed in progress_bar(runs, desc="models × seeds", disable=not progress):
        override = epochs.get(name) if isinstance(epochs, dict) else epochs
        run = recipe.with_config(seed=seed, eval_every=0, epochs=override or recipe.config.epochs)
        model = run.build_model(dataset.num_users, dataset.num_items)
        history = train_model(model, adjacency, users, items, run.config, device=device, progress=False)
        model.eval()
        metrics = evaluator.evaluate(model.scorer(adjacency.to(history.device)))
        rows.append({"model": name, "seed": seed, **_headline(metrics), "train_seconds": history.train_seconds})
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


def _headline(metrics: dict) -> dict:
    return {"recall@10": metrics["recall@10"], "ndcg@10": metrics["ndcg@10"]}
