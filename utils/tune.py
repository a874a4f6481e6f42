"""Choosing hyper-parameters on the validation split, never on the test split.

``python -m utils.tune CONFIG [CONFIG ...]`` trains LightGCN once per CONFIG on ``ua.base`` minus a
validation set (5 random training ratings per user, :func:`utils.data.validation_split`) and prints
one JSON line per config: its best validation Recall@10 and NDCG@10 and the epoch it reached them.
Each CONFIG is a JSON object of :class:`utils.training.TrainConfig` fields, plus the model's
``embedding_dim``, ``num_layers`` and ``layer_weights``; fields left out take the default recipe's
values (``feature_transform`` and ``nonlinear`` make it :class:`utils.model.NGCFStyle`). Every run starts from the same seed, so configs differ only by what they set. Example::

    python -m utils.tune '{"learning_rate": 0.01}' '{"learning_rate": 0.02, "negatives_per_positive": 4}'
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from collections.abc import Sequence

from utils.data import load_movielens, validation_split
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator
from utils.training import DEFAULT_RECIPE, TrainConfig, pick_device, ranking_monitor, train_lightgcn

MODEL_FIELDS = ("embedding_dim", "num_layers", "layer_weights", "feature_transform", "nonlinear")


def validate(overrides: dict, dataset, fit, validation, device) -> dict:
    """Train one config on ``fit``; return its best validation metrics and where they were reached."""
    unknown = set(overrides) - set(MODEL_FIELDS) - {f.name for f in dataclasses.fields(TrainConfig)}
    if unknown:
        raise SystemExit(f"error: unknown setting(s) {sorted(unknown)}; use TrainConfig fields or {', '.join(MODEL_FIELDS)}.")
    config = dataclasses.replace(DEFAULT_RECIPE.config, **{k: v for k, v in overrides.items() if k not in MODEL_FIELDS})
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
    evaluate = ranking_monitor(RankingEvaluator.from_dataset(dataset, train=fit, test=validation), adjacency)
    model_settings = {k: (tuple(v) if isinstance(v, list) else v) for k, v in overrides.items() if k in MODEL_FIELDS}
    recipe = dataclasses.replace(DEFAULT_RECIPE, name="tune", config=config, **model_settings)
    model = recipe.build_model(dataset.num_users, dataset.num_items)
    history = train_lightgcn(model, adjacency, users, items, config, evaluate=evaluate, device=device, progress=False)
    frame = history.to_frame().dropna(subset=["recall@10"])
    best = frame["recall@10"].idxmax()
    return {
        "config": overrides,
        "best_epoch": int(best),
        "validation_recall@10": round(float(frame.loc[best, "recall@10"]), 4),
        "validation_ndcg@10": round(float(frame.loc[best, "ndcg@10"]), 4),
        "last_recall@10": round(float(frame["recall@10"].iloc[-1]), 4),
        "train_seconds_to_best": round(float(frame.loc[best, "train_seconds"]), 1),
        "device": history.device,
    }


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m utils.tune", description=__doc__.split("\n\n")[0])
    parser.add_argument("configs", nargs="+", metavar="CONFIG", help="a JSON object of settings, e.g. '{\"learning_rate\": 0.02}'")
    parser.add_argument("--data-dir", help="the ml-100k folder (default: $ML100K_DIR, then data/)")
    parser.add_argument("--per-user", type=int, default=5, help="validation ratings held out per user (default 5)")
    parser.add_argument("--device", default=None, help="cpu, cuda or mps (default: the best available)")
    args = parser.parse_args(argv)
    dataset = load_movielens(args.data_dir)
    fit, validation = validation_split(dataset.train, per_user=args.per_user, seed=0)
    device = pick_device(args.device)
    for text in args.configs:
        try:
            overrides = json.loads(text)
        except json.JSONDecodeError as error:
            raise SystemExit(f"error: {text!r} is not a JSON object ({error}).") from None
        print(json.dumps(validate(overrides, dataset, fit, validation, device)), flush=True)


if __name__ == "__main__":
    main()
