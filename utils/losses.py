r"""The pieces of the BPR training loss, shared by every model of :mod:`utils.models`.

Bayesian Personalised Ranking (Rendle et al., 2009) asks that a user score a movie they rated above
one they did not. For a batch :math:`\mathcal{B}` of triples (user :math:`u`, positive :math:`i`,
sampled negative :math:`j`), as the authors' code computes it (a mean over the batch):

.. math::

    \mathcal{L} = \frac{1}{|\mathcal{B}|} \sum_{(u,i,j) \in \mathcal{B}} -\ln \sigma(\hat y_{ui} - \hat y_{uj})
    \;+\; \lambda \, \frac{1}{2|\mathcal{B}|} \sum_{(u,i,j) \in \mathcal{B}}
    \left(\lVert \mathbf{e}_u^{(0)} \rVert^2 + \lVert \mathbf{e}_i^{(0)} \rVert^2 + \lVert \mathbf{e}_j^{(0)} \rVert^2\right),

with the L2 term on the layer-0 embeddings of the batch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: How the L2 term is taken: on the layer-0 rows of the batch (the paper), or on the whole tables.
REGULARIZERS = ("batch", "tables")

#: The default ``dense_scores_limit`` of :func:`batch_scores`, in (user × movie) scores.
DENSE_SCORES_LIMIT = 4_000_000


def bpr_loss(positive_scores: torch.Tensor, negative_scores: torch.Tensor) -> torch.Tensor:
    """``mean(-ln σ(ŷ_ui - ŷ_uj))``, written as ``softplus(ŷ_uj - ŷ_ui)`` for numerical stability."""
    return F.softplus(negative_scores - positive_scores).mean()


def l2_on_batch(*layer0_rows: torch.Tensor) -> torch.Tensor:
    """``(1 / 2|B|) Σ ‖e^(0)‖²`` over the layer-0 embedding rows of a batch (the paper's regulariser)."""
    return sum(rows.pow(2).sum() for rows in layer0_rows) / (2 * len(layer0_rows[0]))


def occurrences(indices: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    """How often each of ``0 … size-1`` occurs in ``indices``: ``bincount``, which on a GPU waits
    for the host to read the largest index, done as an ``index_add_`` that does not."""
    counts = torch.zeros(size, dtype=dtype, device=indices.device)
    return counts.index_add_(0, indices, torch.ones(len(indices), dtype=dtype, device=indices.device))


def l2_penalty(user_table: torch.Tensor, item_table: torch.Tensor, users, positives, negatives, regularize: str) -> torch.Tensor:
    """The L2 term before its weight λ: :func:`l2_on_batch` of the batch's layer-0 rows, or the
    squared norm of the whole tables (``regularize="tables"``)."""
    if regularize == "batch":
        # Σ_b ‖e_(u_b)‖² = Σ_u count_u ‖e_u‖²: the same value as l2_on_batch, without gathering rows.
        user_counts = occurrences(users, len(user_table), user_table.dtype)
        item_counts = occurrences(torch.cat([positives, negatives.flatten()]), len(item_table), item_table.dtype)
        return (user_counts @ user_table.pow(2).sum(1) + item_counts @ item_table.pow(2).sum(1)) / (2 * len(users))
    if regularize == "tables":
        return user_table.pow(2).sum() + item_table.pow(2).sum()
    raise ValueError(f"regularize must be one of {', '.join(REGULARIZERS)}, got {regularize!r}.")


def batch_scores(user_final: torch.Tensor, item_final: torch.Tensor, users: torch.Tensor, items: torch.Tensor,
                 *, dense_scores_limit: int = DENSE_SCORES_LIMIT) -> torch.Tensor:  # fmt: skip
    """``ŷ[n, m] = e_(users[n]) · e_(items[n, m])`` for a batch.

    Two equal ways: gather one embedding row per pair and multiply, or score every user against
    every movie with one dense matrix product and pick the pairs out. The second is faster on the
    CPU (a dense product and one flat gather beat scattering gradients into rows) but needs
    ``users × movies`` floats, so it is used only up to ``dense_scores_limit`` of them, and only on
    the CPU (where it is measured: notebook 08).
    """
    num_items = item_final.shape[0]
    if users.device.type == "cpu":
        distinct, position = torch.unique(users, return_inverse=True)
        if len(distinct) * num_items <= dense_scores_limit:
            all_scores = user_final.index_select(0, distinct) @ item_final.T  # (distinct users, movies)
            pairs = (position[:, None] * num_items + items).flatten()
            return all_scores.view(-1).index_select(0, pairs).view(items.shape)
    user_vectors = user_final.index_select(0, users).unsqueeze(1)
    item_vectors = item_final.index_select(0, items.flatten()).view(*items.shape, -1)
    return (user_vectors * item_vectors).sum(-1)
