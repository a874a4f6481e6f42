r"""The NGCF-style model of notebook 06: LightGCN plus NGCF's weight matrices and non-linearity
(Wang et al., "Neural Graph Collaborative Filtering", SIGIR 2019, https://arxiv.org/abs/1905.08108)."""

from __future__ import annotations

import torch
from torch import nn

from utils.models.base import FoldInError, register_model
from utils.models.lightgcn import LightGCN, propagate_once


@register_model("ngcf")
class NGCFStyle(LightGCN):
    r"""LightGCN with NGCF's two extra pieces as switches: a weight matrix per layer and a non-linearity.

    .. math::

        E^{(k+1)} = \sigma\big(\hat A E^{(k)} W_k\big), \qquad \mathbf e = \sum_{k=0}^{K} \alpha_k \mathbf e^{(k)},

    with :math:`W_k` a learned ``d × d`` matrix when ``feature_transform`` (else the identity) and
    :math:`\sigma` a LeakyReLU(0.2) when ``nonlinear`` (else the identity). With both switches off
    it *is* LightGCN; the LightGCN paper's ablations of NGCF remove exactly these two pieces (its
    "w/o feature transformation" and "w/o non-linear activation" variants). NGCF's element-wise
    interaction term is left out, so the comparison isolates the two pieces LightGCN drops.

    Args:
        feature_transform: learn a weight matrix per layer (initialised Xavier-uniform).
        nonlinear: apply LeakyReLU(0.2) after each layer.
        other arguments: as :class:`LightGCN`.
    """

    def __init__(self, *args, feature_transform: bool = True, nonlinear: bool = True, **kwargs):
        # LightGCN's __init__ draws the layer-0 tables first, so a seed gives every model class the
        # same E^(0); the weight matrices are drawn after them.
        super().__init__(*args, **kwargs)
        self.feature_transform = feature_transform
        self.nonlinear = nonlinear
        self.transforms = nn.ModuleList(
            nn.Linear(self.embedding_dim, self.embedding_dim, bias=False) for _ in range(self.num_layers if feature_transform else 0)
        )
        self._reset_transforms()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        self._reset_transforms()

    def _reset_transforms(self) -> None:
        for transform in getattr(self, "transforms", []):
            nn.init.xavier_uniform_(transform.weight)

    def propagate(self, normalized_adjacency: torch.Tensor, layer0: torch.Tensor) -> list[torch.Tensor]:
        """``E^(k+1) = σ(Â E^(k) W_k)`` from ``E^(0) = layer0``."""
        layers = [layer0]
        for k in range(self.num_layers):
            layer = propagate_once(normalized_adjacency, layers[-1])
            if self.feature_transform:
                layer = self.transforms[k](layer)
            if self.nonlinear:
                layer = nn.functional.leaky_relu(layer, negative_slope=0.2)
            layers.append(layer)
        return layers

    def fold_in(self, normalized_adjacency: torch.Tensor, num_new_users: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.feature_transform or self.nonlinear:
            raise FoldInError(
                "the NGCF-style model cannot place a new user without retraining: its layers pass embeddings "
                "through learned weight matrices and a non-linearity, so a user with no trained layer-0 "
                "embedding has no meaningful place among them. Fix: use a LightGCN model for new users."
            )
        return super().fold_in(normalized_adjacency, num_new_users)

    def extra_repr(self) -> str:
        return super().extra_repr() + f", feature_transform={self.feature_transform}, nonlinear={self.nonlinear}"
