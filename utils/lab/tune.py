"""Choosing hyper-parameters on the validation split, never on the test split.

``python -m utils.lab.tune CONFIG [CONFIG ...]`` trains a recipe of :data:`utils.recipes.RECIPES`
(``--recipe``, default ``default``) once per CONFIG on the training split (``--dataset``,
``--split``: ML-100K's ``ua`` by default) minus a validation set
(5 random training ratings per user, :func:`utils.data.validation_split`) and prints one JSON line
per config: its best validation Recall@10 and NDCG@10 and the epoch it reached them. Each CONFIG is
a JSON object of :class:`utils.training.TrainConfig` fields and arguments of the recipe's model
(``num_layers``, ``embedding_dim``, ``layer_weights``, ...); fields left out keep the recipe's
values. Every run starts from the same seed, so configs differ only by what they set; with
``--seeds 0,1,2`` each config trains once per seed and is read off the seeds' mean curve, with the
seeds' standard deviation at its best epoch. Example::

    python -m utils.lab.tune '{"learning_rate": 0.01}' '{"learning_rate": 0.02, "negatives_per_positive": 4}'
    python -m utils.lab.tune --recipe mf '{"weight_decay": 0.003}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence

import pandas as pd

from utils.data import validation_split
from utils.datasets.cli import add_dataset_arguments, dataset_from_args
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator
from utils.recipes import RECIPES, Recipe
from utils.training import TrainConfig, pick_device, ranking_monitor, train_model

CONFIG_FIELDS = tuple(f.name for f in dataclasses.fields(TrainConfig))


def apply_overrides(recipe: Recipe, overrides: dict) -> Recipe:
    """``recipe`` with the settings of one CONFIG; unknown or invalid settings are a clear error."""
    if not isinstance(overrides, dict):
        raise ValueError(f"a CONFIG must be a JSON object, got {overrides!r}.")
    model_names = recipe.model_class.argument_names()
    unknown = set(overrides) - set(model_names) - set(CONFIG_FIELDS)
    if unknown:
        raise ValueError(f"unknown setting(s) {sorted(unknown)}; use TrainConfig fields ({', '.join(CONFIG_FIELDS)}) "
                         f"or arguments of the recipe's model ({', '.join(model_names)}).")  # fmt: skip
    config_changes = {k: v for k, v in overrides.items() if k in CONFIG_FIELDS}
    model_changes = {k: v for k, v in overrides.items() if k in model_names}
    return recipe.with_config(**config_changes).with_model_args(**model_changes)


def validation_curve(recipe: Recipe, dataset, fit, validation, device) -> pd.DataFrame:
    """Train ``recipe`` on ``fit``; its validation ``recall@10``, ``ndcg@10`` and ``train_seconds`` by epoch."""
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
    evaluate = ranking_monitor(RankingEvaluator.from_dataset(dataset, train=fit, test=validation), adjacency)
    model = recipe.build_model(dataset.num_users, dataset.num_items)
    config = recipe.config if recipe.config.eval_every else recipe.config.replace(eval_every=1)
    history = train_model(model, adjacency, users, items, config, evaluate=evaluate, device=device, progress=False)
    return history.to_frame().dropna(subset=["recall@10"])[["recall@10", "ndcg@10", "train_seconds"]]


def validate(recipe: Recipe, dataset, fit, validation, device, seeds: Sequence[int] | None = None) -> dict:
    """Train ``recipe`` once per seed (default: its own); return the best epoch of the seeds' mean
    validation Recall@10 curve, the means there (± the seeds' standard deviation, with several)."""
    seeds = [recipe.config.seed] if seeds is None else list(seeds)
    curves = [validation_curve(recipe.with_config(seed=seed), dataset, fit, validation, device) for seed in seeds]
    mean = sum(curves) / len(curves)
    best = mean["recall@10"].idxmax()
    result = {
        "best_epoch": int(best),
        "validation_recall@10": round(float(mean.loc[best, "recall@10"]), 4),
        "validation_ndcg@10": round(float(mean.loc[best, "ndcg@10"]), 4),
        "last_recall@10": round(float(mean["recall@10"].iloc[-1]), 4),
        "train_seconds_to_best": round(float(mean.loc[best, "train_seconds"]), 1),
        "device": str(device) if device is not None else "auto",
    }
    if len(seeds) > 1:
        result["seeds"] = seeds
        result["validation_recall@10_std"] = round(float(pd.Series([curve.loc[best, "recall@10"] for curve in curves]).std()), 4)
    return result


def main(argv: Sequence[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(prog="python -m utils.lab.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="a JSON object of settings, e.g. '{\"learning_rate\": 0.02}'")
    parser.add_argument("--recipe", default="default", choices=list(RECIPES), help="the recipe the settings change (default: default)")
    parser.add_argument("--per-user", type=int, default=5, help="validation ratings held out per user (default 5)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    parser.add_argument("--seeds", help="comma-separated seeds: each CONFIG trains once per seed and is read off the "
                                        "seeds' mean curve (default: the recipe's own seed)")
    add_dataset_arguments(parser)
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]
    runs = []
    for text in args.configs:  # every CONFIG is checked before the first one trains
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as error:
            raise SystemExit(f"error: {text!r} is not a JSON object ({error}).") from None
        try:
            runs.append((overrides, apply_overrides(recipe, overrides)))
        except (TypeError, ValueError) as error:
            raise SystemExit(f"error: CONFIG {text}: {error}") from None
    try:
        seeds = None if args.seeds is None else [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        raise SystemExit(f"error: --seeds takes whole numbers separated by commas, e.g. 0,1,2; got {args.seeds!r}.") from None
    dataset = dataset_from_args(args)
    fit, validation = validation_split(dataset.train, per_user=args.per_user, seed=0)
    device = pick_device(args.device)
    lines = []
    for overrides, run in runs:
        lines.append({"recipe": recipe.name, "dataset": dataset.name, "split": dataset.split, "config": overrides,
                      **validate(run, dataset, fit, validation, device, seeds)})  # fmt: skip
        print(json.dumps(lines[-1]), flush=True)
    return lines


if __name__ == "__main__":
    main()
