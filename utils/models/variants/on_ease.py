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

import weakref
from collections.abc import Callable

import torch

from utils.baselines import ease_item_weights, interaction_matrix
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
    """LightGCN whose scores (:meth:`forward`) add β times EASE's standardised scores; the BPR loss
    it inherits trains the embeddings on that sum.

    Args:
        ease_weight: :math:`\\beta`, the weight of EASE's standardised scores.
        ease_regularization: EASE's λ.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, *args, ease_weight: float = 1.0, ease_regularization: float = 500.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.ease_weight = ease_weight
        self.ease_regularization = ease_regularization
        self._ease_scores: dict[int, tuple[weakref.ref, int, torch.Tensor]] = {}  # id(graph) -> (graph, its version, scores)

    def ease_prior(self, normalized_adjacency: torch.Tensor) -> torch.Tensor:
        """EASE's standardised scores of every user on this graph, without β; computed once per graph.

        They are kept for the graph *tensor*: a weak reference to it (a graph that is gone cannot be
        taken for a new one that reuses its address) and its version counter (changed in place, it is
        refitted); a copy, such as a new ``graph.to(device)``, is fitted anew. Nothing is read from the
        graph's values, which would make a GPU wait at every step.
        """
        key, version = id(normalized_adjacency), normalized_adjacency._version
        kept = self._ease_scores.get(key)
        if kept is None or kept[0]() is not normalized_adjacency or kept[1] != version:
            if normalized_adjacency.shape != (self.num_users + self.num_items,) * 2:
                raise ValueError(f"the graph has {normalized_adjacency.shape[0]} nodes; this model needs {self.num_users + self.num_items}. "
                                 "Fix: pass the training graph of the data the model was built for.")
            self._ease_scores = {k: entry for k, entry in self._ease_scores.items() if entry[0]() is not None}
            scores = standardized_ease_scores(normalized_adjacency, self.num_users, self.ease_regularization)
            kept = self._ease_scores[key] = (weakref.ref(normalized_adjacency), version, scores)
        return kept[2]

    def forward(self, normalized_adjacency: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """``e_u·e_i + β · EASE`` of the pairs, in the shape of ``items`` (as :meth:`BPRModel.forward`)."""
        ease = self.ease_prior(normalized_adjacency)[users[:, None], items.reshape(len(users), -1)].reshape(items.shape)
        return super().forward(normalized_adjacency, users, items) + self.ease_weight * ease

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
