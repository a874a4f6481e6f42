"""Looking inside trained models: over-smoothing, 2-D maps, who the graph helps, and whether a
difference between two models is more than noise.

Small, model-agnostic functions for notebooks 06 and 08; each takes embeddings or per-user metrics
and returns plain numbers or DataFrames.
"""

from __future__ import annotations

from typing import NamedTuple

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


def count_quantile_bins(counts: np.ndarray, bins: int = 4) -> pd.Categorical:
    """Quantile bins of integer counts, labelled by the counts they hold ("10–23", not ``(9.999, 23.0]``).

    Bins that would repeat an edge (many equal counts) are merged, as ``pd.qcut(duplicates="drop")`` does.
    """
    counts = np.asarray(counts)
    intervals = pd.qcut(counts, bins, duplicates="drop")
    # A bin (a, b] of integer counts holds floor(a) + 1 … floor(b).
    edges = [(int(np.floor(i.left)) + 1, int(np.floor(i.right))) for i in intervals.categories]
    labels = [f"{low}–{high}" if low < high else str(high) for low, high in edges]
    return intervals.rename_categories(labels)


def recall_by_user_activity(per_user_recall: np.ndarray, users: np.ndarray, train_counts: np.ndarray, bins: int = 4) -> pd.DataFrame:
    """Mean Recall@K per quantile bin of users' training-rating counts (cold users first)."""
    counts = train_counts[users]
    labels = count_quantile_bins(counts, bins)
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
    labels = count_quantile_bins(popularity, bins)
    return pd.DataFrame({"popularity": labels, "hit": hit}).groupby("popularity", observed=True)["hit"].agg(["mean", "size"])


class BootstrapInterval(NamedTuple):
    """A mean difference and the bounds of its bootstrap confidence interval."""

    difference: float
    low: float
    high: float

    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of 0: the difference is more than noise."""
        return self.low > 0 or self.high < 0


def paired_bootstrap(a, b, reps: int = 2000, seed: int = 0, confidence: float = 0.95, block: int = 256) -> BootstrapInterval:
    """The mean of ``a - b`` and its percentile bootstrap interval, resampling the pairs.

    ``a[j]`` and ``b[j]`` are two models' metric for the same user ``j`` (``RankingEvaluator.evaluate(...,
    per_user=True)`` of both, in the same user order). Each of ``reps`` resamples draws ``len(a)``
    users with replacement and keeps both models' values of each drawn user together, so the spread
    between users (some are easy for every model) cancels out of the difference; the interval is
    the central ``confidence`` share of the resampled mean differences. Resamples are drawn
    ``block`` at a time, so memory stays ``block × len(a)`` indices.
    """
    differences = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if np.shape(a) != np.shape(b) or differences.ndim != 1 or len(differences) == 0:
        raise ValueError(f"paired_bootstrap needs two 1-D arrays of the same non-zero length, got shapes {np.shape(a)} and {np.shape(b)}.")
    if reps < 1 or not 0 < confidence < 1:
        raise ValueError(f"paired_bootstrap needs reps ≥ 1 and 0 < confidence < 1, got reps={reps}, confidence={confidence}.")
    generator = np.random.default_rng(seed)
    means = np.empty(reps)
    for start in range(0, reps, block):
        draws = generator.integers(len(differences), size=(min(block, reps - start), len(differences)))
        means[start : start + len(draws)] = differences[draws].mean(axis=1)
    low, high = np.quantile(means, [(1 - confidence) / 2, (1 + confidence) / 2])
    return BootstrapInterval(float(differences.mean()), float(low), float(high))
