r"""LightGCN trained with a softmax over every movie instead of BPR's pairs.

BPR compares a rated movie with a few sampled ones. The softmax (cross-entropy) loss compares it
with *all* movies at once: for a training pair :math:`(u, i)`,

.. math::

    \ell_{ui} = -\log \frac{\exp(\hat y_{ui} / \tau)}{\sum_{j=1}^{I} \exp(\hat y_{uj} / \tau)}
              = \operatorname{logsumexp}_j(\hat y_{uj} / \tau) - \hat y_{ui} / \tau,

averaged over the batch, plus BPR's L2 term on the layer-0 rows of the batch's users and positives.
With 1680 movies the sum over all of them is cheap: the normaliser depends on the user only, so it
is computed once per distinct user of the batch. Sampled-softmax variants (Wu et al., "On the
Effectiveness of Sampled Softmax Loss for Item Recommendation", 2022) approximate the same sum
where the catalogue is too large. With ``cosine=True`` the scores are cosines of the final
embeddings, and :math:`\tau` sets how sharp the softmax is.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from utils.losses import l2_penalty
from utils.models.base import register_model
from utils.models.lightgcn import LightGCN


@register_model("lightgcn-softmax")
class SoftmaxLightGCN(LightGCN):
    """LightGCN (same propagation and scores) trained with a full softmax over the movies.

    Args:
        temperature: :math:`\\tau`, the scores are divided by it inside the softmax.
        cosine: score with the cosine of the final embeddings (length-1 rows) instead of the dot product.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, *args, temperature: float = 1.0, cosine: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        if not temperature > 0:
            raise ValueError(f"temperature must be positive, got {temperature}.")
        self.temperature = temperature
        self.cosine = cosine

    def get_embedding(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        users, items = super().get_embedding(normalized_adjacency)
        if self.cosine:
            return F.normalize(users, dim=1), F.normalize(items, dim=1)
        return users, items

    def loss(self, normalized_adjacency, users, positives, negatives, *, weight_decay=0.0, regularize="batch"):
        """``(softmax cross-entropy + λ · L2, {"softmax": ...})``; the sampled ``negatives`` are not used."""
        user_final, item_final = self.get_embedding(normalized_adjacency)
        distinct, position = torch.unique(users, return_inverse=True)
        logits = user_final.index_select(0, distinct) @ item_final.T / self.temperature  # (distinct users, movies)
        cross_entropy = (torch.logsumexp(logits, dim=1)[position] - logits[position, positives]).mean()
        no_negatives = positives[:, None][:, :0]  # the L2 term covers the batch's users and positives
        penalty = l2_penalty(*self.layer0_tables(), users, positives, no_negatives, regularize)
        return cross_entropy + weight_decay * penalty, {"softmax": cross_entropy.detach()}
