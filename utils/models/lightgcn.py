r"""The LightGCN model (He et al., "LightGCN: Simplifying and Powering Graph Convolution Network
for Recommendation", SIGIR 2020, https://arxiv.org/abs/2002.02126)."""

from __future__ import annotations

import torch
from torch import nn

from utils.models.base import BPRModel, FoldInError, register_model


class _SymmetricSparseMatmul(torch.autograd.Function):
    """``Â @ E`` for a symmetric sparse ``Â``: its gradient ``Âᵀ @ G`` is ``Â @ G``, and saying so
    saves autograd from transposing the sparse matrix on every backward pass."""

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


@register_model("lightgcn")
class LightGCN(BPRModel):
    r"""LightGCN: learnable layer-0 embeddings, smoothed over the user–movie graph without weights
    or non-linearities, and scored by dot products.

    Each layer takes, for every node, the normalised sum of its neighbours' embeddings:

    .. math::

        \mathbf{e}_u^{(k+1)} = \sum_{i \in \mathcal{N}(u)} \frac{1}{\sqrt{|\mathcal{N}(u)|}\sqrt{|\mathcal{N}(i)|}}\,
        \mathbf{e}_i^{(k)}, \qquad\text{i.e.}\qquad E^{(k+1)} = \hat A E^{(k)},\quad \hat A = D^{-1/2} A D^{-1/2},

    and likewise for movies. The final embedding combines the layers, :math:`\mathbf{e}_u = \sum_{k=0}^{K}
    \alpha_k \mathbf{e}_u^{(k)}` (by default :math:`\alpha_k = \frac{1}{K+1}`), and a user's score for a movie is
    the dot product :math:`\hat y_{ui} = \mathbf{e}_u^\top \mathbf{e}_i`. The only parameters are the layer-0
    embeddings :math:`E^{(0)}`. With ``num_layers=0`` it is matrix factorisation (MF-BPR).

    Args:
        num_users, num_items: ``U`` and ``I``; the graph's nodes are the users ``0 … U-1``, then the movies.
        embedding_dim: size of every embedding (64 in the paper).
        num_layers: number of propagation layers ``K`` (3 in the paper).
        layer_weights: the ``K+1`` weights ``α_k``; default ``1/(K+1)`` each.
        init_std: standard deviation of the normal initialisation of :math:`E^{(0)}` (0.1 in the authors' code).
    """

    def __init__(self, num_users: int, num_items: int, embedding_dim: int = 64, num_layers: int = 3,
                 layer_weights: list[float] | torch.Tensor | None = None, init_std: float = 0.1):  # fmt: skip
        super().__init__(num_users, num_items)
        if num_layers < 0:
            raise ValueError(f"num_layers must be 0 or more, got {num_layers}.")
        if layer_weights is None:
            layer_weights = torch.full((num_layers + 1,), 1.0 / (num_layers + 1))
        layer_weights = torch.as_tensor(layer_weights, dtype=torch.float32)
        if layer_weights.shape != (num_layers + 1,):
            raise ValueError(f"layer_weights needs {num_layers + 1} values (α_0 … α_K), got {tuple(layer_weights.shape)}.")
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

    def layer0_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.user_embedding.weight, self.item_embedding.weight

    def propagate(self, normalized_adjacency: torch.Tensor, layer0: torch.Tensor) -> list[torch.Tensor]:
        """``[E^(0), E^(1), …, E^(K)]`` from a given ``E^(0)``: ``E^(k+1) = Â E^(k)``."""
        layers = [layer0]
        for _ in range(self.num_layers):
            layers.append(propagate_once(normalized_adjacency, layers[-1]))
        return layers

    def layer_embeddings(self, normalized_adjacency: torch.Tensor) -> list[torch.Tensor]:
        """``[E^(0), E^(1), …, E^(K)]``, each of shape ``(U + I, embedding_dim)``, users first."""
        return self.propagate(normalized_adjacency, torch.cat([self.user_embedding.weight, self.item_embedding.weight]))

    def combine(self, layers: list[torch.Tensor]) -> torch.Tensor:
        """``Σ_k α_k E^(k)``."""
        return sum(weight * layer for weight, layer in zip(self.layer_weights, layers))

    def get_embedding(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Propagate the whole graph once: the final user and movie embeddings ``Σ_k α_k E^(k)``. This
        is the one propagation path: training, scoring and recommendation all call it."""
        final = self.combine(self.layer_embeddings(normalized_adjacency))
        return final[: self.num_users], final[self.num_users :]

    def fold_in(self, normalized_adjacency: torch.Tensor, num_new_users: int) -> tuple[torch.Tensor, torch.Tensor]:
        r"""Final ``(new users, movies)`` embeddings, ``(n, d)`` and ``(I, d)``, of ``num_new_users`` users added
        after training, on the graph ``Â`` that holds them as nodes ``U … U+n-1`` (the movies follow), linked
        to the movies they like. A new user has no trained layer-0 embedding, so it starts from zeros;
        propagation gives it, layer by layer, the normalised sum of its movies' embeddings (:math:`L`
        the movies it likes, :math:`d_i` a movie's training degree):

        .. math::

            \mathbf e_{u^*}^{(k+1)} = \sum_{i \in L} \frac{1}{\sqrt{|L|}\sqrt{d_i + 1}}\, \mathbf e_i^{(k)},
            \qquad \mathbf e_{u^*} = \sum_{k=1}^{K} \alpha_k \mathbf e_{u^*}^{(k)}.

        The movies' embeddings move a little too (each gains a neighbour): the new user is scored on them.
        """
        if self.num_layers == 0:
            raise FoldInError("a model with 0 layers has no propagation to place a new user with. Fix: use a LightGCN with layers.")
        expected = self.num_users + num_new_users + self.num_items
        if normalized_adjacency.shape != (expected, expected):
            raise ValueError(f"the graph with {num_new_users} new user(s) must have {expected} nodes, got {tuple(normalized_adjacency.shape)}.")
        user_table, item_table = self.layer0_tables()
        new_users = torch.zeros(num_new_users, self.embedding_dim, dtype=user_table.dtype, device=user_table.device)
        final = self.combine(self.propagate(normalized_adjacency, torch.cat([user_table, new_users, item_table])))
        return final[self.num_users : self.num_users + num_new_users], final[self.num_users + num_new_users :]

    def extra_repr(self) -> str:
        return f"num_users={self.num_users}, num_items={self.num_items}, embedding_dim={self.embedding_dim}, num_layers={self.num_layers}"
