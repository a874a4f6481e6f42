"""Looking inside trained models: over-smoothing, 2-D maps, and who the graph helps.

Small, model-agnostic functions for notebook 06; each takes embeddings or per-user metrics and
returns plain numbers or DataFrames.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from utils.metrics import RankingEvaluator


def mean_cosine_similarity(embeddings: torch.Tensor, num_pairs: int = 20_000, seed: int = 0) -> float:
    """Mean cosine similarity of random pairs of distinct rows: near 1 means over-smoothed."""
    generator = torch.Generator().manual_seed(seed)
    first = torch.randint(len(embeddings), (num_pairs,), generator=generator)
    second = (first + torch.randint(1, len(embeddings), (num_pairs,), generator=generator)) % len(embeddings)
    return torch.nn.functional.cosine_similarity(embeddings[first], embeddings[second]).mean().item()


def pca_2d(embeddings: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Project rows onto their first two principal components; also return the explained variance shares."""
    centred = embeddings.detach().double() - embeddings.detach().double().mean(0)
    _, singular_values, right = torch.linalg.svd(centred, full_matrices=False)
    shares = (singular_values**2 / (singular_values**2).sum())[:2]
    return (centred @ right[:2].T).numpy(), shares.numpy()


def primary_genre(items: pd.DataFrame, preferred: list[str]) -> pd.Series:
    """One genre per movie for colouring: the first of ``preferred`` it has, else "other"."""
    chosen = pd.Series("other", index=items.index)
    for genre in reversed(preferred):
        chosen[items[genre].astype(bool)] = genre
    return chosen


def recall_by_user_activity(per_user_recall: np.ndarray, users: np.ndarray, train_counts: np.ndarray, bins: int = 4) -> pd.DataFrame:
    """Mean Recall@K per quantile bin of users' training-rating counts (cold users first)."""
    counts = train_counts[users]
    labels = pd.qcut(counts, bins, duplicates="drop")
    frame = pd.DataFrame({"activity": labels, "recall": per_user_recall})
    return frame.groupby("activity", observed=True)["recall"].agg(["mean", "size"])


def hits_by_item_popularity(evaluator: RankingEvaluator, scores, test: pd.DataFrame, item_counts: np.ndarray, k: int = 10, bins: int = 4) -> pd.DataFrame:
    """Share of test (user, movie) pairs found in the user's top K, per popularity bin of the movie.

    Unseen-in-training test movies are left out here: they have no popularity to bin by.
    """
    seen = test[test["item_index"] >= 0]
    users = torch.as_tensor(np.unique(seen["user_index"].to_numpy()))
    top = {}
    for start in range(0, len(users), evaluator.batch_size):
        batch = users[start : start + evaluator.batch_size]
        for user, row in zip(batch.tolist(), evaluator.top_k(scores, batch, k).tolist()):
            top[user] = set(row)
    hit = np.array([item in top[user] for user, item in zip(seen["user_index"], seen["item_index"])])
    popularity = item_counts[seen["item_index"].to_numpy()]
    labels = pd.qcut(popularity, bins, duplicates="drop")
    return pd.DataFrame({"popularity": labels, "hit": hit}).groupby("popularity", observed=True)["hit"].agg(["mean", "size"])
