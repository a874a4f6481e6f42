r"""The user–movie bipartite graph as a sparse matrix, and its symmetric normalisation.

With ``U`` users, ``I`` movies and the interaction matrix ``R`` (``R[u, i] = 1`` when user ``u``
rated movie ``i``), the graph has ``N = U + I`` nodes, users first, and the adjacency

.. math::

    A = \begin{pmatrix} 0 & R \\ R^\top & 0 \end{pmatrix} \in \{0, 1\}^{N \times N}.

LightGCN propagates over the symmetrically normalised adjacency

.. math::

    \hat A = D^{-1/2} A D^{-1/2}, \qquad \hat A_{ij} = \frac{A_{ij}}{\sqrt{d_i d_j}},

where ``d_i`` is the degree of node ``i``. A node of degree 0 (a movie no one rated in training)
gets a zero row and column, never ``inf`` or ``NaN``.
"""

from __future__ import annotations

import warnings

import numpy as np
import torch


def bipartite_adjacency(user_index: np.ndarray | torch.Tensor, item_index: np.ndarray | torch.Tensor,
                        num_users: int, num_items: int) -> torch.Tensor:  # fmt: skip
    """The ``(U + I) × (U + I)`` adjacency ``[[0, R], [Rᵀ, 0]]`` as a coalesced sparse COO tensor.

    Node ``u`` is user ``u``; node ``U + i`` is movie ``i``. Repeated (user, movie) pairs count once.
    """
    users = torch.tensor(np.asarray(user_index), dtype=torch.long)
    items = torch.tensor(np.asarray(item_index), dtype=torch.long)
    if users.shape != items.shape or users.ndim != 1:
        raise ValueError(f"user_index and item_index must be 1-D and of one length, got {tuple(users.shape)} and {tuple(items.shape)}.")
    if len(users) and (users.min() < 0 or users.max() >= num_users):
        raise ValueError(f"user indices must lie in 0..{num_users - 1}, got {int(users.min())}..{int(users.max())}.")
    if len(items) and (items.min() < 0 or items.max() >= num_items):
        raise ValueError(f"item indices must lie in 0..{num_items - 1}, got {int(items.min())}..{int(items.max())}.")
    rows = torch.cat([users, items + num_users])
    cols = torch.cat([items + num_users, users])
    size = num_users + num_items
    adjacency = torch.sparse_coo_tensor(torch.stack([rows, cols]), torch.ones(len(rows)), (size, size), check_invariants=True).coalesce()
    # coalesce() sums duplicates; an edge is there or not.
    return torch.sparse_coo_tensor(adjacency.indices(), torch.ones_like(adjacency.values()), (size, size), check_invariants=False).coalesce()


def node_degrees(adjacency: torch.Tensor) -> torch.Tensor:
    """Degree of every node: the row sums of the (sparse) adjacency, as a dense 1-D tensor."""
    return torch.sparse.sum(adjacency, dim=1).to_dense() if adjacency.is_sparse else adjacency.sum(dim=1)


def normalize_adjacency(adjacency: torch.Tensor) -> torch.Tensor:
    """``D^-1/2 A D^-1/2`` of a sparse COO adjacency; rows and columns of degree-0 nodes stay zero."""
    adjacency = adjacency.coalesce()
    degrees = node_degrees(adjacency)
    inverse_sqrt = torch.where(degrees > 0, degrees.clamp(min=1).rsqrt(), torch.zeros_like(degrees))
    rows, cols = adjacency.indices()
    values = inverse_sqrt[rows] * adjacency.values() * inverse_sqrt[cols]
    return torch.sparse_coo_tensor(adjacency.indices(), values, adjacency.shape, check_invariants=False).coalesce()


def normalized_bipartite_adjacency(user_index, item_index, num_users: int, num_items: int) -> torch.Tensor:
    """``Â = D^-1/2 A D^-1/2`` of the bipartite graph, in CSR layout (the fastest for ``Â @ E``)."""
    normalized = normalize_adjacency(bipartite_adjacency(user_index, item_index, num_users, num_items))
    with warnings.catch_warnings():  # torch calls CSR "beta" the first time it builds one; we mean to
        warnings.filterwarnings("ignore", message="Sparse CSR tensor support is in beta")
        return normalized.to_sparse_csr()
