r"""SimGCL: LightGCN with a noise-contrastive term (Yu et al., "Are Graph Augmentations Necessary?
Simple Graph Contrastive Learning for Recommendation", SIGIR 2022, https://arxiv.org/abs/2112.08679).

Two extra propagations per step add small random noise to every layer's embeddings,

.. math::

    \mathbf e^{(k+1)\prime} = \hat A\, \mathbf e^{(k)\prime} + \operatorname{sign}(\hat A\, \mathbf e^{(k)\prime}) \odot
    \epsilon\, \frac{\boldsymbol\Delta}{\lVert\boldsymbol\Delta\rVert}, \qquad \boldsymbol\Delta \sim U(0, 1)^d,

and each view's final embedding is the mean of layers 1..K (SimGCL leaves layer 0 out of the
views). An InfoNCE term asks each node of the batch to recognise its own other view among the
batch's nodes:

.. math::

    \mathcal L = \mathcal L_{\text{BPR}} + \lambda_{\text{cl}} \big(\text{InfoNCE}(\text{users}) + \text{InfoNCE}(\text{movies})\big),
    \qquad \text{InfoNCE} = -\frac{1}{|B|}\sum_{n \in B} \log \frac{e^{\cos(\mathbf z'_n, \mathbf z''_n)/\tau}}{\sum_{m \in B} e^{\cos(\mathbf z'_n, \mathbf z''_m)/\tau}}.

The term spreads the embeddings more evenly (the paper's "uniformity"); scoring uses the plain,
noise-free LightGCN embeddings.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from utils.models.base import register_model
from utils.models.lightgcn import LightGCN, propagate_once


def info_nce(first_view: torch.Tensor, second_view: torch.Tensor, temperature: float) -> torch.Tensor:
    """Cross-entropy of recognising row ``n`` of the second view as the match of row ``n`` of the first, by cosine / τ."""
    logits = F.normalize(first_view, dim=1) @ F.normalize(second_view, dim=1).T / temperature
    return F.cross_entropy(logits, torch.arange(len(logits), device=logits.device))


@register_model("simgcl")
class SimGCL(LightGCN):
    """LightGCN trained with BPR plus SimGCL's contrastive term between two noisy views.

    Args:
        noise_magnitude: :math:`\\epsilon`, the length of the noise added at each layer.
        contrastive_weight: :math:`\\lambda_{\\text{cl}}`.
        contrastive_temperature: :math:`\\tau` of the InfoNCE term.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, *args, noise_magnitude: float = 0.1, contrastive_weight: float = 0.2,
                 contrastive_temperature: float = 0.2, **kwargs):  # fmt: skip
        super().__init__(*args, **kwargs)
        if self.num_layers < 1:
            raise ValueError("SimGCL's views are propagated layers: num_layers must be 1 or more.")
        self.noise_magnitude = noise_magnitude
        self.contrastive_weight = contrastive_weight
        self.contrastive_temperature = contrastive_temperature

    def noisy_view(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """One perturbed view: noise added after every propagation, layers 1..K averaged."""
        embeddings = torch.cat([self.user_embedding.weight, self.item_embedding.weight])
        total = torch.zeros_like(embeddings)
        for _ in range(self.num_layers):
            embeddings = propagate_once(normalized_adjacency, embeddings)
            noise = F.normalize(torch.rand_like(embeddings), dim=1) * self.noise_magnitude
            embeddings = embeddings + torch.sign(embeddings) * noise
            total = total + embeddings
        final = total / self.num_layers
        return final[: self.num_users], final[self.num_users :]

    def loss(self, normalized_adjacency, users, positives, negatives, *, weight_decay=0.0, regularize="batch"):
        """``(BPR + λ · L2 + λ_cl · (InfoNCE of users + of movies), {"bpr": ..., "contrastive": ...})``."""
        total, parts = super().loss(normalized_adjacency, users, positives, negatives, weight_decay=weight_decay, regularize=regularize)
        (users_1, items_1), (users_2, items_2) = self.noisy_view(normalized_adjacency), self.noisy_view(normalized_adjacency)
        batch_users, batch_items = torch.unique(users), torch.unique(positives)
        contrastive = (info_nce(users_1[batch_users], users_2[batch_users], self.contrastive_temperature)
                       + info_nce(items_1[batch_items], items_2[batch_items], self.contrastive_temperature))  # fmt: skip
        return total + self.contrastive_weight * contrastive, {**parts, "contrastive": contrastive.detach()}
