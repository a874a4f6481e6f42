"""The bipartite adjacency and its normalisation, against a dense float64 formula."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from utils.graph import bipartite_adjacency, node_degrees, normalize_adjacency, normalized_bipartite_adjacency


def dense_reference(users, items, num_users, num_items):
    """A and D^-1/2 A D^-1/2 written out densely in float64, degree-0 nodes left at zero."""
    R = np.zeros((num_users, num_items))
    R[users, items] = 1.0
    A = np.block([[np.zeros((num_users, num_users)), R], [R.T, np.zeros((num_items, num_items))]])
    d = A.sum(1)
    inv = np.zeros_like(d)
    inv[d > 0] = d[d > 0] ** -0.5
    return A, inv[:, None] * A * inv[None, :]


def test_toy_graph_by_hand():
    # 2 users, 3 movies: user 0 rated movies 0 and 1, user 1 rated movie 1; movie 2 has no rating.
    A = bipartite_adjacency([0, 0, 1], [0, 1, 1], 2, 3).to_dense()
    expected = torch.tensor(
        [
            [0, 0, 1, 1, 0],
            [0, 0, 0, 1, 0],
            [1, 0, 0, 0, 0],
            [1, 1, 0, 0, 0],
            [0, 0, 0, 0, 0],
        ],
        dtype=torch.float32,
    )
    assert torch.equal(A, expected)
    assert node_degrees(bipartite_adjacency([0, 0, 1], [0, 1, 1], 2, 3)).tolist() == [2, 1, 1, 2, 0]
    normalized = normalize_adjacency(bipartite_adjacency([0, 0, 1], [0, 1, 1], 2, 3)).to_dense()
    # Â[user 0, movie 1] = 1 / sqrt(deg(user 0) * deg(movie 1)) = 1 / sqrt(2 * 2)
    assert normalized[0, 3].item() == pytest.approx(0.5)
    assert normalized[1, 3].item() == pytest.approx(1 / np.sqrt(2))
    assert torch.all(normalized[4] == 0) and torch.all(normalized[:, 4] == 0)


@pytest.mark.parametrize("seed", range(5))
def test_normalisation_matches_dense_formula(seed):
    rng = np.random.default_rng(seed)
    num_users, num_items = rng.integers(3, 12), rng.integers(3, 15)
    count = int(rng.integers(1, num_users * num_items))
    users, items = rng.integers(num_users, size=count), rng.integers(num_items, size=count)  # duplicates included
    A_ref, normalized_ref = dense_reference(users, items, num_users, num_items)
    A = bipartite_adjacency(users, items, num_users, num_items)
    assert np.array_equal(A.to_dense().numpy(), A_ref)
    for normalized in (normalize_adjacency(A), normalized_bipartite_adjacency(users, items, num_users, num_items)):
        dense = normalized.to_dense().double().numpy()
        assert np.isfinite(dense).all()
        np.testing.assert_allclose(dense, normalized_ref, rtol=1e-6, atol=1e-7)
        np.testing.assert_allclose(dense, dense.T)


def test_bad_indices_are_refused():
    with pytest.raises(ValueError, match="item indices must lie in 0..2"):
        bipartite_adjacency([0], [3], 1, 3)
    with pytest.raises(ValueError, match="user indices"):
        bipartite_adjacency([-1], [0], 1, 3)
    with pytest.raises(ValueError, match="one length"):
        bipartite_adjacency([0, 1], [0], 2, 3)


def test_importing_the_core_installs_no_warnings_filter():
    # A filter installed at import would hide the warning from every user of the process; the CSR
    # "beta" warning is silenced only around the conversion that means to build a CSR tensor.
    script = (
        "import warnings, numpy, pandas, torch; before = list(warnings.filters)  # theirs install some\n"
        "import utils.graph, utils.losses, utils.metrics, utils.models, utils.training\n"
        "assert warnings.filters == before, [f for f in warnings.filters if f not in before]\n"
        "with warnings.catch_warnings(record=True) as caught:\n"
        "    warnings.simplefilter('always')\n"
        "    utils.graph.normalized_bipartite_adjacency([0, 1], [1, 0], 2, 2)\n"
        "assert not caught, [str(w.message) for w in caught]\n"
        "assert warnings.filters == before\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).resolve().parents[1])  # noqa: S603 (our own interpreter, fixed code)
