r"""LightGCN trained on top of EASE: the graph model learns what the closed-form item–item model misses.

EASE (:mod:`utils.baselines`) and LightGCN make different mistakes: EASE is a full-rank item–item
regression, LightGCN a low-rank, graph-smoothed factorisation. This model scores with both,

.. math::

    \hat y_{ui} = \mathbf e_u^\top \mathbf e_i + \beta\, z_u\big((\mathbf r_u B)_i\big),

where :math:`\mathbf r_u B` are EASE's scores for user :math:`u` (fitted once, in closed form, on
the same training graph), :math:`z_u` standardises them over the movies for each user (mean 0,
standard deviation 1, so :math:`\beta` does not depend on their scale), and the embeddings are
LightGCN's, trained with BPR on the *sum*. EASE is fixed; training moves only the embeddings, so
they fit the pairs EASE ranks wrongly: a residual, as in boosting. :math:`\beta = 0` is LightGCN.

EASE's scores are computed from the training graph itself: the rated (user, movie) pairs are the
non-zero entries of the user–movie block of :math:`\hat A`, so the model needs nothing but the
graph it is given, like every model of the series.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from utils.baselines import ease_item_weights, interaction_matrix
from utils.losses import batch_scores, bpr_loss, l2_penalty
from utils.models.base import FoldInError, register_model
from utils.models.lightgcn import LightGCN


def standardized_ease_scores(normalized_adjacency: torch.Tensor, num_users: int, regularization: float) -> torch.Tensor:
    """EASE's ``(users, movies)`` scores on the graph's rated pairs, standardised per user (float32, on the graph's device)."""
    coo = normalized_adjacency.to_sparse_coo().coalesce().cpu()
    rows, columns = coo.indices()
    user_to_movie = (rows < num_users) & (columns >= num_users)
    users, items = rows[user_to_movie], columns[user_to_movie] - num_users
    num_items = normalized_adjacency.shape[0] - num_users
    weights = ease_item_weights(users.numpy(), items.numpy(), num_users, num_items, regularization)
    scores = interaction_matrix(users.numpy(), items.numpy(), num_users, num_items, weights.dtype) @ weights
    standardized = (scores - scores.mean(dim=1, keepdim=True)) / scores.std(dim=1, keepdim=True).clamp_min(1e-12)
    return standardized.float().to(normalized_adjacency.device)


@register_model("lightgcn-on-ease")
class LightGCNOnEASE(LightGCN):
    """LightGCN whose scores add β times EASE's standardised scores; BPR trains the embeddings on the sum.

    Args:
        ease_weight: :math:`\\beta`, the weight of EASE's standardised scores.
        ease_regularization: EASE's λ.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                 layer_weights: list[float] | torch.Tensor | None = None, init_std: float = 0.1,
                 ease_weight: float = 1.0, ease_regularization: float = 500.0):  # fmt: skip
        super().__init__(num_users, num_items, embedding_dim, num_layers, layer_weights, init_std)
        self.ease_weight = ease_weight
        self.ease_regularization = ease_regularization
        self._prior_key, self._prior = None, None

    def ease_prior(self, normalized_adjacency: torch.Tensor) -> torch.Tensor:
        """β-free EASE scores of every user on this graph; computed once per graph and kept."""
        # The graph's size and a sum of its entries identify it cheaply (an id() can be reused by a new graph).
        key = (tuple(normalized_adjacency.shape), str(normalized_adjacency.device), normalized_adjacency._nnz(),
               float(normalized_adjacency.values().sum()))
        if self._prior_key != key:
            if normalized_adjacency.shape != (self.num_users + self.num_items,) * 2:
                raise ValueError(f"the graph has {normalized_adjacency.shape[0]} nodes; this model needs {self.num_users + self.num_items}.")
            self._prior_key, self._prior = key, standardized_ease_scores(normalized_adjacency, self.num_users, self.ease_regularization)
        return self._prior

    def loss(self, normalized_adjacency, users, positives, negatives, *, weight_decay=0.0, regularize="batch"):
        """BPR on ``e_u·e_i + β · EASE``, plus λ · L2 on the layer-0 rows (as :meth:`BPRModel.loss`)."""
        negatives = negatives.reshape(len(users), -1)
        items = torch.cat([positives[:, None], negatives], dim=1)
        user_final, item_final = self.get_embedding(normalized_adjacency)
        prior = self.ease_prior(normalized_adjacency)
        scores = batch_scores(user_final, item_final, users, items) + self.ease_weight * prior[users[:, None], items]
        bpr = bpr_loss(scores[:, :1], scores[:, 1:])
        penalty = l2_penalty(*self.layer0_tables(), users, positives, negatives, regularize)
        return bpr + weight_decay * penalty, {"bpr": bpr.detach()}

    def forward(self, normalized_adjacency, users, items):
        return super().forward(normalized_adjacency, users, items) + self.ease_weight * self.ease_prior(normalized_adjacency)[users, items]

    @torch.no_grad()
    def scorer(self, normalized_adjacency: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        user_final, item_final = self.get_embedding(normalized_adjacency)
        prior = self.ease_prior(normalized_adjacency)

        def scores(users: torch.Tensor) -> torch.Tensor:
            users = users.to(user_final.device)
            return user_final[users] @ item_final.T + self.ease_weight * prior[users]

        return scores

    def fold_in(self, normalized_adjacency: torch.Tensor, num_new_users: int) -> tuple[torch.Tensor, torch.Tensor]:
        raise FoldInError(
            "LightGCN on EASE cannot place a new user by propagation alone: its scores also need EASE's "
            "scores for that user. Fix: use the default LightGCN recipe for new users, or refit with their ratings."
        )
