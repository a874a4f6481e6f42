"""The comparison of notebook 06: LightGCN against MF-BPR, NGCF-style variants and non-graph baselines.

Every trained model uses the same loop, sampler, loss and evaluation (:mod:`utils.training`,
:mod:`utils.metrics`); only the model changes. Each is trained on ``ua.base`` over several seeds
and scored once on ``ua.test``.
"""

from __future__ import annotations

import dataclasses
import time

import pandas as pd
import torch
from tqdm.auto import tqdm

from utils.baselines import ease_scores
from utils.data import MovieLens
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator, embedding_scores, popularity_scores
from utils.training import DEFAULT_RECIPE, Recipe, train_lightgcn

#: MF-BPR's own training config, chosen on the validation split: with LightGCN's (lr 2e-2, λ 1e-3)
#: it over-fits within 10 epochs (README, "How the default recipe was chosen").
MF_CONFIG = dataclasses.replace(DEFAULT_RECIPE.config, epochs=75, learning_rate=5e-3, weight_decay=1e-2)


def comparison_recipes(base: Recipe = DEFAULT_RECIPE) -> dict[str, Recipe]:
    """The trained models compared, each a variant of ``base`` that changes one thing.

    All share ``base``'s training config, with the epoch count at which a variant peaked on the
    validation split where that was measured, except MF-BPR, which gets :data:`MF_CONFIG`: a model
    without propagation needs far stronger regularisation, and a comparison with an untuned
    baseline would flatter LightGCN.
    """

    def variant(name: str, epochs: int | None = None, **changes) -> Recipe:
        config = dataclasses.replace(base.config, epochs=epochs) if epochs else base.config
        return dataclasses.replace(base, name=name, config=changes.pop("config", config), **changes)

    return {
        "MF-BPR (0 layers)": variant("mf", num_layers=0, config=MF_CONFIG),
        "LightGCN, 1 layer": variant("lightgcn-1", num_layers=1),
        # Epochs where the variant peaked on the validation split (README's table), where measured.
        "LightGCN, 2 layers": variant("lightgcn-2", num_layers=2, epochs=40),
        "LightGCN, 3 layers": variant("lightgcn-3", num_layers=3),
        "LightGCN, 4 layers": variant("lightgcn-4", num_layers=4, epochs=70),
        "NGCF-style (W + LeakyReLU)": variant("ngcf", feature_transform=True, nonlinear=True, epochs=85),
        "NGCF w/o feature transformation": variant("ngcf-no-w", feature_transform=False, nonlinear=True),
        "NGCF w/o non-linearity": variant("ngcf-linear", feature_transform=True, nonlinear=False),
    }


def run_comparison(
    dataset: MovieLens,
    recipes: dict[str, Recipe],
    seeds=(0, 1, 2),
    epochs: int | None = None,
    device=None,
    progress: bool = True,
    ease_regularization: float | None = None,
) -> tuple[pd.DataFrame, dict]:
    """Train every recipe once per seed; return one row per (model, seed) and the seed-0 models.

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
    for name, recipe, seed in tqdm(runs, desc="models × seeds", disable=not progress):
        config = dataclasses.replace(recipe.config, seed=seed, eval_every=0, epochs=epochs or recipe.config.epochs)
        model = dataclasses.replace(recipe, config=config).build_model(dataset.num_users, dataset.num_items)
        history = train_lightgcn(model, adjacency, users, items, config, device=device, progress=False)
        model.eval()
        with torch.no_grad():
            metrics = evaluator.evaluate(embedding_scores(*model.get_embedding(adjacency.to(history.device))))
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
