r"""The LightGCN model (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network
for Recommendation", SIGIR 2020, https://arxiv.org/abs/2002.02126)."""

from __future__ import annotations

import torch
from torch import nn


class _SymmetricSparseMatmul(torch.autograd.Function):
    """``Â @ E`` for a symmetric sparse ``Â``; its gradient ``Âᵀ @ G`` is then ``Â @ G``.

    Saying so saves autograd from transposing the sparse matrix on every backward pass.
    """

    @staticmethod
    def forward(ctx, matrix: torch.Tensor, dense: torch.Tensor) -> torch.Tensor:
        ctx.matrix = matrix
        return torch.sparse.mm(matrix, dense)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        return None, torch.sparse.mm(ctx.matrix, grad_output)


def propagate_once(normalized_adjacency: torch.Tensor, embeddings: torch.Tensor) -> torch.Tensor:
    """One LightGCN layer, ``E^(k+1) = Â E^(k)``: every node takes the normalised sum of its neighbours."""
    if embeddings.requires_grad:
        return _SymmetricSparseMatmul.apply(normalized_adjacency, embeddings)
    return torch.sparse.mm(normalized_adjacency, embeddings)


class LightGCN(nn.Module):
    r"""LightGCN: learnable layer-0 embeddings, smoothed over the user–movie graph without weights
    or non-linearities, and scored by dot products.

    Each layer takes, for every node, the normalised sum of its neighbours' embeddings:

    .. math::

        \mathbf{e}_u^{(k+1)} = \sum_{i \in \mathcal{N}(u)} \frac{1}{\sqrt{|\mathcal{N}(u)|}\sqrt{|\mathcal{N}(i)|}}\,
        \mathbf{e}_i^{(k)}, \qquad\text{i.e.}\qquad E^{(k+1)} = \hat A E^{(k)},\quad \hat A = D^{-1/2} A D^{-1/2},

    and likewise for movies. The final embedding combines the layers,

    .. math::

        \mathbf{e}_u = \sum_{k=0}^{K} \alpha_k \mathbf{e}_u^{(k)}, \qquad \alpha_k = \frac{1}{K+1}
        \text{ by default},

    and a user's score for a movie is the dot product :math:`\hat y_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`.
    The only parameters are the layer-0 embeddings :math:`E^{(0)}`.

    Args:
        num_users: number of users ``U`` (graph nodes ``0 … U-1``).
        num_items: number of movies ``I`` (graph nodes ``U … U+I-1``).
        embedding_dim: size of every embedding (default 64, as in the paper).
        num_layers: number of propagation layers ``K`` (default 3, as in the paper).
        layer_weights: the ``K+1`` weights ``α_k``; default ``1/(K+1)`` each.
        init_std: standard deviation of the normal initialisation of :math:`E^{(0)}` (default 0.1,
            as in the authors' code).
    """

    def __init__(
        self,
        num_users: int,
        num_items: int,
        embedding_dim: int = 64,
        num_layers: int = 3,
        layer_weights: list[float] | torch.Tensor | None = None,
        init_std: float = 0.1,
    ):
        super().__init__()
        if num_users < 1 or num_items < 1:
            raise ValueError(f"need at least one user and one movie, got {num_users} and {num_items}.")
        if num_layers < 0:
            raise ValueError(f"num_layers must be 0 or more, got {num_layers}.")
        if layer_weights is None:
            layer_weights = torch.full((num_layers + 1,), 1.0 / (num_layers + 1))
        layer_weights = torch.as_tensor(layer_weights, dtype=torch.float32)
        if layer_weights.shape != (num_layers + 1,):
            raise ValueError(f"layer_weights needs {num_layers + 1} values (α_0 … α_K), got {tuple(layer_weights.shape)}.")
        self.num_users = num_users
        self.num_items = num_items
        self.embedding_dim = embedding_dim
        self.num_layers = num_layers
        self.init_std = init_std
        self.user_embedding = nn.Embedding(num_users, embedding_dim)
        self.item_embedding = nn.Embedding(num_items, embedding_dim)
        self.register_buffer("layer_weights", layer_weights)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        nn.init.normal_(self.user_embedding.weight, std=self.init_std)
        nn.init.normal_(self.item_embedding.weight, std=self.init_std)

    def layer_embeddings(self, normalized_adjacency: torch.Tensor) -> list[torch.Tensor]:
        """``[E^(0), E^(1), …, E^(K)]``, each of shape ``(U + I, embedding_dim)``, users first."""
        layers = [torch.cat([self.user_embedding.weight, self.item_embedding.weight])]
        for _ in range(self.num_layers):
            layers.append(propagate_once(normalized_adjacency, layers[-1]))
        return layers

    def get_embedding(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagate the whole graph once; return the final user and movie embeddings ``Σ_k α_k E^(k)``.

        This is the one propagation path: training, scoring and recommendation all call it.
        """
        layers = self.layer_embeddings(normalized_adjacency)
        final = sum(weight * layer for weight, layer in zip(self.layer_weights, layers))
        return final[: self.num_users], final[self.num_users :]

    def forward(self, normalized_adjacency: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores ``ŷ_ui = e_uᵀ e_i`` of the (user, movie) index pairs ``users[n], items[n]``."""
        user_final, item_final = self.get_embedding(normalized_adjacency)
        return (user_final[users] * item_final[items]).sum(dim=-1)

    def extra_repr(self) -> str:
        return (
            f"num_users={self.num_users}, num_items={self.num_items}, embedding_dim={self.embedding_dim}, "
            f"num_layers={self.num_layers}"
        )


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

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                 layer_weights=None, init_std: float = 0.1, feature_transform: bool = True, nonlinear: bool = True):  # fmt: skip
        self.feature_transform = feature_transform
        self.nonlinear = nonlinear
        super().__init__(num_users, num_items, embedding_dim, num_layers, layer_weights, init_std)
        self.transforms = nn.ModuleList(
            nn.Linear(embedding_dim, embedding_dim, bias=False) for _ in range(num_layers if feature_transform else 0)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        super().reset_parameters()
        for transform in getattr(self, "transforms", []):
            nn.init.xavier_uniform_(transform.weight)

    def layer_embeddings(self, normalized_adjacency: torch.Tensor) -> list[torch.Tensor]:
        layers = [torch.cat([self.user_embedding.weight, self.item_embedding.weight])]
        for k in range(self.num_layers):
            layer = propagate_once(normalized_adjacency, layers[-1])
            if self.feature_transform:
                layer = self.transforms[k](layer)
            if self.nonlinear:
                layer = nn.functional.leaky_relu(layer, negative_slope=0.2)
            layers.append(layer)
        return layers

    def extra_repr(self) -> str:
        return super().extra_repr() + f", feature_transform={self.feature_transform}, nonlinear={self.nonlinear}"
