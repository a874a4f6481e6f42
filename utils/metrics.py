r"""Full-ranking evaluation: every movie is ranked for every user, training movies masked.

For a user :math:`u` with test movies :math:`T_u` (all of them, unseen-in-training ones included)
and a top-K list :math:`L_u^K` drawn from the movies :math:`u` did not rate in training:

.. math::

    \mathrm{Recall@K} = \frac{|L_u^K \cap T_u|}{|T_u|}, \qquad
    \mathrm{Precision@K} = \frac{|L_u^K \cap T_u|}{K}, \qquad
    \mathrm{HitRate@K} = \mathbb{1}\left[|L_u^K \cap T_u| > 0\right],

.. math::

    \mathrm{NDCG@K} = \frac{\sum_{r=1}^{K} \mathrm{rel}_r / \log_2(r+1)}{\sum_{r=1}^{\min(K, |T_u|)} 1 / \log_2(r+1)},
    \qquad \mathrm{rel}_r = \mathbb{1}[L_u^K[r] \in T_u],

.. math::

    \mathrm{MAP@K} = \frac{1}{\min(K, |T_u|)} \sum_{r=1}^{K} \mathrm{rel}_r \cdot \mathrm{Precision@r}.

Each metric is averaged over the users that have test movies. A test movie that never occurs in
training counts in :math:`|T_u|` and can never be hit: it is a miss, not a dropped row.

The users × movies score matrix is never built. Users are scored a block at a time, the block sized
from a budget of score cells (``max_block_scores``, 2**23 float32 scores = 32 MB by default), so
memory does not grow with the number of users. Each user's training movies are kept as CSR rows
(row pointers into one sorted array of movie indices) and scattered into the block's scores as
:math:`-\infty`; a top-K movie is a hit when its key ``user × num_movies + movie`` is found, by binary
search, among the sorted keys of the test pairs. Beyond the block's scores, the work per block is
proportional to its users' training ratings and to ``block × K``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

METRICS = ("recall", "precision", "ndcg", "hit", "map")

#: Default budget of one block: this many float32 scores (32 MB), whatever the number of users.
MAX_BLOCK_SCORES = 2**23


class RankingEvaluator:
    """Ranks all movies for each test user, training movies masked, and scores the top K.

    Args:
        train_users, train_items: index pairs of the training interactions (masked from rankings).
        test_users, test_items: index pairs of the ground truth; an item index of -1 (``UNSEEN``)
            is a test movie absent from training: it counts as relevant but can never be hit.
        num_users, num_items: sizes of the index spaces.
        batch_size: users scored at once; ``None`` (the default) derives it from ``max_block_scores``.
        max_block_scores: the memory budget of one block, in scores: a block holds
            ``max(1, max_block_scores // num_items)`` users, however many users there are.
    """

    def __init__(self, train_users, train_items, test_users, test_items, num_users: int, num_items: int,
                 batch_size: int | None = None, *, max_block_scores: int = MAX_BLOCK_SCORES):  # fmt: skip
        self.num_users, self.num_items = num_users, num_items
        self.batch_size = max(1, max_block_scores // max(num_items, 1)) if batch_size is None else int(batch_size)
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {batch_size}.")
        train_users, train_items, test_users, test_items = (
            torch.tensor(np.asarray(a), dtype=torch.long) for a in (train_users, train_items, test_users, test_items)
        )
        _check_pairs("training", train_users, train_items, num_users, num_items, unseen_allowed=False)
        _check_pairs("test", test_users, test_items, num_users, num_items, unseen_allowed=True)
        self.num_relevant = torch.bincount(test_users, minlength=num_users)
        self.users = torch.nonzero(self.num_relevant > 0).flatten()
        # User u's training movies are _train_indices[_train_indptr[u] : _train_indptr[u + 1]].
        train_keys = _sorted_keys(train_users, train_items, num_items)
        self._train_indptr = torch.zeros(num_users + 1, dtype=torch.long)
        self._train_indptr[1:] = torch.cumsum(torch.bincount(train_keys // num_items, minlength=num_users), 0)
        self._train_indices = train_keys % num_items
        seen = test_items >= 0
        self._test_keys = _sorted_keys(test_users[seen], test_items[seen], num_items)

    @classmethod
    def from_dataset(
        cls, dataset, test=None, train=None, batch_size: int | None = None, *, max_block_scores: int = MAX_BLOCK_SCORES
    ) -> RankingEvaluator:
        """From a :class:`utils.data.MovieLens` split (or other train/test frames with index columns)."""
        train = dataset.train if train is None else train
        test = dataset.test if test is None else test
        return cls(
            train["user_index"].to_numpy(), train["item_index"].to_numpy(),
            test["user_index"].to_numpy(), test["item_index"].to_numpy(),
            dataset.num_users, dataset.num_items, batch_size, max_block_scores=max_block_scores,
        )  # fmt: skip

    def top_k(self, scores: Callable[[torch.Tensor], torch.Tensor], users: torch.Tensor, k: int) -> torch.Tensor:
        """Indices of the ``k`` best movies for ``users``, each user's training movies excluded."""
        if not 1 <= k <= self.num_items:
            raise ValueError(f"K must lie in 1..{self.num_items} (the number of movies), got {k}.")
        batch_scores = scores(users).to(torch.float32, copy=True)  # a copy: the mask below writes into it
        if batch_scores.shape != (len(users), self.num_items):
            raise ValueError(f"scores must have shape ({len(users)}, {self.num_items}), got {tuple(batch_scores.shape)}.")
        if torch.isnan(batch_scores).any():
            raise ValueError("the model produced NaN scores: training diverged (try a smaller learning rate).")
        rows, movies = self._training_pairs(users.cpu())
        batch_scores[rows.to(batch_scores.device), movies.to(batch_scores.device)] = -torch.inf
        return torch.topk(batch_scores, k, dim=1).indices

    def evaluate(self, scores: Callable[[torch.Tensor], torch.Tensor], ks: Sequence[int] = (10,),
                 per_user: bool = False) -> dict:  # fmt: skip
        """Mean metrics over test users for every K in ``ks``, as ``{"recall@10": ..., ...}``.

        ``scores(users)`` returns a ``(len(users), num_items)`` tensor of scores; it is called once
        per block of at most ``batch_size`` users. With ``per_user=True`` the result also holds
        ``"users"`` and one array per metric and K.
        """
        if len(self.users) == 0:
            raise ValueError("there is nothing to evaluate: no user has a test rating (the test pairs are empty). "
                             "Fix: evaluate on a split whose test part has ratings.")  # fmt: skip
        ks = sorted(set(int(k) for k in ks))
        max_k = ks[-1]
        per_metric = {f"{name}@{k}": [] for k in ks for name in METRICS}
        for start in range(0, len(self.users), self.batch_size):
            users = self.users[start : start + self.batch_size]
            top = self.top_k(scores, users, max_k).cpu()
            hits = self._is_test_pair(users, top).double()  # (batch, max_k): 1 where the r-th pick is a test movie
            for name, values in self._metrics_from_hits(hits, self.num_relevant[users].double(), ks).items():
                per_metric[name].append(values)
        result = {name: torch.cat(values).numpy() for name, values in per_metric.items()}
        means = {name: float(values.mean()) for name, values in result.items()}
        if per_user:
            means.update({"users": self.users.numpy()}, **{f"per_user_{n}": v for n, v in result.items()})
        return means

    def _training_pairs(self, users: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(row in the block, movie) for every training rating of ``users``: their CSR rows, concatenated."""
        starts = self._train_indptr[users]
        counts = self._train_indptr[users + 1] - starts
        rows = torch.repeat_interleave(torch.arange(len(users)), counts)
        # The j-th pair of the block sits at starts[row] + (j - first j of its row) in _train_indices.
        positions = torch.arange(len(rows)) + torch.repeat_interleave(starts - (torch.cumsum(counts, 0) - counts), counts)
        return rows, self._train_indices[positions]

    def _is_test_pair(self, users: torch.Tensor, movies: torch.Tensor) -> torch.Tensor:
        """``movies[b, r]`` is a (seen) test movie of ``users[b]``: a binary search among the test keys."""
        keys = users[:, None] * self.num_items + movies
        if len(self._test_keys) == 0:
            return torch.zeros_like(keys, dtype=torch.bool)
        found = torch.searchsorted(self._test_keys, keys).clamp(max=len(self._test_keys) - 1)
        return self._test_keys[found] == keys

    @staticmethod
    def _metrics_from_hits(hits: torch.Tensor, num_relevant: torch.Tensor, ks: Sequence[int]) -> dict:
        ranks = torch.arange(1, hits.shape[1] + 1, dtype=torch.float64)
        discounts = 1.0 / torch.log2(ranks + 1)
        cumulative_hits = hits.cumsum(dim=1)
        out = {}
        for k in ks:
            found = cumulative_hits[:, k - 1]
            ideal_count = torch.clamp(num_relevant, max=k)
            ideal_dcg = torch.cumsum(discounts, 0)[(ideal_count - 1).long().clamp(min=0)]
            out[f"recall@{k}"] = found / num_relevant
            out[f"precision@{k}"] = found / k
            out[f"hit@{k}"] = (found > 0).double()
            out[f"ndcg@{k}"] = (hits[:, :k] * discounts[:k]).sum(1) / ideal_dcg
            out[f"map@{k}"] = (hits[:, :k] * cumulative_hits[:, :k] / ranks[:k]).sum(1) / ideal_count
        return out


def _check_pairs(what: str, users: torch.Tensor, items: torch.Tensor, num_users: int, num_items: int, unseen_allowed: bool) -> None:
    """Clear errors for pairs outside the index spaces (they would alias other users' keys)."""
    if users.dim() != 1 or users.shape != items.shape:
        raise ValueError(f"{what} users and movies must be 1-D and of one length, got shapes {tuple(users.shape)} and {tuple(items.shape)}.")
    if len(users) == 0:
        return
    if users.min() < 0 or users.max() >= num_users:
        raise ValueError(f"{what} user indices must lie in 0..{num_users - 1}, got {int(users.min())}..{int(users.max())}.")
    if items.max() >= num_items or (not unseen_allowed and items.min() < 0):
        raise ValueError(f"{what} movie indices must lie in 0..{num_items - 1}, got {int(items.min())}..{int(items.max())}.")


def _sorted_keys(users: torch.Tensor, items: torch.Tensor, num_items: int) -> torch.Tensor:
    """The distinct pairs as ascending keys ``user × num_items + item``: grouped by user, movies sorted."""
    return torch.unique(users * num_items + items)


def embedding_scores(user_embeddings: torch.Tensor, item_embeddings: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
    """``scores(users) = E_users[users] @ E_itemsᵀ``: the dot-product scorer of LightGCN and MF."""

    def scores(users: torch.Tensor) -> torch.Tensor:
        return user_embeddings[users.to(user_embeddings.device)] @ item_embeddings.T

    return scores


def popularity_scores(train_items, num_items: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The most-popular baseline: every user gets the same scores, the training count of each movie."""
    counts = torch.bincount(torch.tensor(np.asarray(train_items), dtype=torch.long), minlength=num_items).float()

    def scores(users: torch.Tensor) -> torch.Tensor:
        return counts.expand(len(users), -1)

    return scores
