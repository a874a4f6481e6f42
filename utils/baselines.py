r"""Non-graph baselines that every graph model must beat, scored like the models.

- **Most popular** (:func:`utils.metrics.popularity_scores`): the same list for everyone.
- **EASE** (Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019): an item–item
  model with a closed-form solution. With the 0/1 interaction matrix :math:`X` (users × movies),

  .. math::

      P = (X^\top X + \lambda I)^{-1}, \qquad B = I - P \,\mathrm{diag}(1 / \mathrm{diag}(P)),
      \qquad \hat Y = X B,

  which is the ridge regression of each movie's column on all the others with a zero diagonal
  (a movie may not predict itself). One matrix inverse of size movies × movies; no training loop.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

#: Default ceiling for one dense movies × movies float64 matrix (4 GB).
DEFAULT_MEMORY_LIMIT_BYTES = 4 * 10**9


def item_matrix_bytes(num_items: int) -> int:
    """Bytes of one dense ``num_items × num_items`` float64 matrix."""
    return num_items * num_items * torch.finfo(torch.float64).bits // 8


def check_item_matrix_fits(model: str, num_items: int, memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> None:
    """Refuse (``ValueError``) when one movies × movies float64 matrix would exceed the limit."""
    needed = item_matrix_bytes(num_items)
    if needed > memory_limit_bytes:
        raise ValueError(
            f"{model} needs dense {num_items} × {num_items} movies × movies float64 matrices of "
            f"{needed / 1e9:.2f} GB each (a few at once), above memory_limit_bytes = {memory_limit_bytes / 1e9:.2f} GB. "
            "Use a model whose memory grows with the ratings instead, such as the trained LightGCN "
            "(the 'default' recipe, sparse propagation), or raise memory_limit_bytes if this machine has the memory."
        )


def interaction_matrix(train_users, train_items, num_users: int, num_items: int, dtype: torch.dtype) -> torch.Tensor:
    """The dense 0/1 user × movie matrix ``R`` of the training ratings."""
    # torch.tensor copies: pandas hands out read-only arrays, which torch warns about sharing.
    users, items = (torch.tensor(np.asarray(index), dtype=torch.long) for index in (train_users, train_items))
    interactions = torch.zeros(num_users, num_items, dtype=dtype)
    interactions[users, items] = 1.0
    return interactions


def ease_item_weights(train_users, train_items, num_users: int, num_items: int, regularization: float = 250.0, *,
                      memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> torch.Tensor:  # fmt: skip
    """EASE's item–item matrix :math:`B` (movies × movies, zero diagonal), in float64.

    Refuses (``ValueError``, as the graph filters do) when one movies × movies float64 matrix would
    exceed ``memory_limit_bytes``; the fit holds four of them and the dense users × movies ``X``.
    """
    if regularization <= 0:
        raise ValueError(f"EASE needs a positive regularization λ, got {regularization}.")
    check_item_matrix_fits("EASE", num_items, memory_limit_bytes)
    interactions = interaction_matrix(train_users, train_items, num_users, num_items, torch.float64)
    gram = interactions.T @ interactions + regularization * torch.eye(num_items, dtype=torch.float64)
    inverse = torch.linalg.inv(gram)
    weights = -inverse / torch.diagonal(inverse)
    weights.fill_diagonal_(0.0)
    return weights


def ease_scores(train_users, train_items, num_users: int, num_items: int, regularization: float = 250.0) -> Callable[[torch.Tensor], torch.Tensor]:
    """``scores(users) = X[users] @ B``: EASE's scores, for :class:`utils.metrics.RankingEvaluator`.

    EASE keeps a dense movies × movies matrix anyway, so the users × movies matrix X is dense too.
    """
    weights = ease_item_weights(train_users, train_items, num_users, num_items, regularization).float()
    interactions = interaction_matrix(train_users, train_items, num_users, num_items, torch.float32)

    def scores(users: torch.Tensor) -> torch.Tensor:
        return interactions[users] @ weights

    return scores


def choose_ease_regularization(dataset, candidates=(100.0, 250.0, 500.0, 1000.0), per_user: int = 5) -> tuple[float, dict]:
    """EASE's λ with the best Recall@10 on the validation split carved from the training split."""
    from utils.data import validation_split
    from utils.metrics import RankingEvaluator

    fit, validation = validation_split(dataset.train, per_user=per_user, seed=0)
    evaluator = RankingEvaluator.from_dataset(dataset, train=fit, test=validation)
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    recall = {
        regularization: evaluator.evaluate(ease_scores(users, items, dataset.num_users, dataset.num_items, regularization))["recall@10"]
        for regularization in candidates
    }
    return max(recall, key=recall.get), recall
