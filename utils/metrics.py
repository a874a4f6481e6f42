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
Scores are computed for a batch of users at a time, so memory stays at ``batch × movies``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import torch

METRICS = ("recall", "precision", "ndcg", "hit", "map")


class RankingEvaluator:
    """Ranks all movies for each test user, training movies masked, and scores the top K.

    Args:
        train_users, train_items: index pairs of the training interactions (masked from rankings).
        test_users, test_items: index pairs of the ground truth; an item index of -1 (``UNSEEN``)
            is a test movie absent from training: it counts as relevant but can never be hit.
        num_users, num_items: sizes of the index spaces.
        batch_size: users scored at once (memory is ``batch_size × num_items`` floats).
    """

    def __init__(self, train_users, train_items, test_users, test_items, num_users: int, num_items: int, batch_size: int = 1024):
        self.num_users, self.num_items, self.batch_size = num_users, num_items, batch_size
        train_users, train_items = (torch.tensor(np.asarray(a), dtype=torch.long) for a in (train_users, train_items))
        test_users, test_items = (torch.tensor(np.asarray(a), dtype=torch.long) for a in (test_users, test_items))
        self.num_relevant = torch.bincount(test_users, minlength=num_users)
        self.users = torch.nonzero(self.num_relevant > 0).flatten()
        seen = test_items >= 0
        self._train = _binary_sparse(train_users, train_items, num_users, num_items)
        self._test = _binary_sparse(test_users[seen], test_items[seen], num_users, num_items)

    @classmethod
    def from_dataset(cls, dataset, test=None, train=None, batch_size: int = 1024) -> RankingEvaluator:
        """From a :class:`utils.data.MovieLens` split (or other train/test frames with index columns)."""
        train = dataset.train if train is None else train
        test = dataset.test if test is None else test
        return cls(
            train["user_index"].to_numpy(), train["item_index"].to_numpy(),
            test["user_index"].to_numpy(), test["item_index"].to_numpy(),
            dataset.num_users, dataset.num_items, batch_size,
        )  # fmt: skip

    def top_k(self, scores: Callable[[torch.Tensor], torch.Tensor], users: torch.Tensor, k: int) -> torch.Tensor:
        """Indices of the ``k`` best movies for ``users``, each user's training movies excluded."""
        if not 1 <= k <= self.num_items:
            raise ValueError(f"K must lie in 1..{self.num_items} (the number of movies), got {k}.")
        batch_scores = scores(users).float().clone()
        if batch_scores.shape != (len(users), self.num_items):
            raise ValueError(f"scores must have shape ({len(users)}, {self.num_items}), got {tuple(batch_scores.shape)}.")
        if torch.isnan(batch_scores).any():
            raise ValueError("the model produced NaN scores: training diverged (try a smaller learning rate).")
        rows = self._train.index_select(0, users.cpu()).to(batch_scores.device)
        batch_scores[rows.to_dense().bool()] = -torch.inf
        return torch.topk(batch_scores, k, dim=1).indices

    def evaluate(
        self,
        scores: Callable[[torch.Tensor], torch.Tensor],
        ks: Sequence[int] = (10,),
        per_user: bool = False,
    ) -> dict:
        """Mean metrics over test users for every K in ``ks``, as ``{"recall@10": ..., ...}``.

        ``scores(users)`` returns a ``(len(users), num_items)`` tensor of scores. With
        ``per_user=True`` the result also holds ``"users"`` and one array per metric and K.
        """
        ks = sorted(set(int(k) for k in ks))
        max_k = ks[-1]
        per_metric = {f"{name}@{k}": [] for k in ks for name in METRICS}
        for start in range(0, len(self.users), self.batch_size):
            users = self.users[start : start + self.batch_size]
            top = self.top_k(scores, users, max_k).cpu()
            relevant = self._test.index_select(0, users).to_dense().bool()
            hits = torch.gather(relevant, 1, top).double()  # (batch, max_k): 1 where the r-th pick is a test movie
            for name, values in self._metrics_from_hits(hits, self.num_relevant[users].double(), ks).items():
                per_metric[name].append(values)
        result = {name: torch.cat(values).numpy() for name, values in per_metric.items()}
        means = {name: float(values.mean()) for name, values in result.items()}
        if per_user:
            means.update({"users": self.users.numpy()}, **{f"per_user_{n}": v for n, v in result.items()})
        return means

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


def _binary_sparse(rows: torch.Tensor, cols: torch.Tensor, num_rows: int, num_cols: int) -> torch.Tensor:
    """A 0/1 sparse COO matrix with ones at (rows, cols) (repeats count once); row slices of it are cheap."""
    values = torch.ones(len(rows), dtype=torch.float32)
    matrix = torch.sparse_coo_tensor(torch.stack([rows, cols]), values, (num_rows, num_cols), check_invariants=True).coalesce()
    return torch.sparse_coo_tensor(matrix.indices(), torch.ones_like(matrix.values()), matrix.shape, check_invariants=False).coalesce()


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
