r"""LightGCN trained with DirectAU's alignment and uniformity (Wang et al., "Towards Representation
Alignment and Uniformity in Collaborative Filtering", KDD 2022, https://arxiv.org/abs/2206.12811).

No negatives: on length-1 final embeddings :math:`\tilde{\mathbf e}`, a batch of rated pairs
:math:`(u, i)` is pulled together (*alignment*) while the batch's users, and its movies, are spread
over the sphere (*uniformity*):

.. math::

    \ell_{\text{align}} = \frac{1}{|\mathcal B|} \sum_{(u,i)} \lVert \tilde{\mathbf e}_u - \tilde{\mathbf e}_i \rVert^2,
    \qquad
    \ell_{\text{uniform}}(X) = \log \frac{1}{|X|(|X|-1)/2} \sum_{a < b} e^{-2 \lVert \tilde{\mathbf e}_a - \tilde{\mathbf e}_b \rVert^2},

    \mathcal L = \ell_{\text{align}} + \gamma \, \tfrac12 \big(\ell_{\text{uniform}}(\text{users}) + \ell_{\text{uniform}}(\text{movies})\big),

with the uniformity taken over the batch's distinct users and distinct movies, plus BPR's L2 term
on their layer-0 rows. Scores are cosines.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from utils.losses import l2_penalty
from utils.models.base import register_model
from utils.models.lightgcn import LightGCN


def uniformity(unit_rows: torch.Tensor) -> torch.Tensor:
    """``log mean_{a<b} exp(-2 ‖x_a − x_b‖²)`` over the rows (at least two)."""
    return torch.pdist(unit_rows, p=2).pow(2).mul(-2).exp().mean().log()


@register_model("lightgcn-directau")
class DirectAULightGCN(LightGCN):
    """LightGCN (same propagation; cosine scores) trained with alignment + γ · uniformity.

    Args:
        uniformity_weight: :math:`\\gamma`, the weight of the uniformity term.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, *args, uniformity_weight: float = 1.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.uniformity_weight = uniformity_weight

    def get_embedding(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        users, items = super().get_embedding(normalized_adjacency)
        return F.normalize(users, dim=1), F.normalize(items, dim=1)

    def loss(self, normalized_adjacency, users, positives, negatives, *, weight_decay=0.0, regularize="batch"):
        """``(alignment + γ · uniformity + λ · L2, {"alignment": ..., "uniformity": ...})``; ``negatives`` are not used."""
        user_final, item_final = self.get_embedding(normalized_adjacency)
        alignment = (user_final[users] - item_final[positives]).pow(2).sum(dim=1).mean()
        spread = (uniformity(user_final[torch.unique(users)]) + uniformity(item_final[torch.unique(positives)])) / 2
        no_negatives = positives[:, None][:, :0]
        penalty = l2_penalty(*self.layer0_tables(), users, positives, no_negatives, regularize)
        total = alignment + self.uniformity_weight * spread + weight_decay * penalty
        return total, {"alignment": alignment.detach(), "uniformity": spread.detach()}
