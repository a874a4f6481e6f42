"""EASE against its closed form computed independently in numpy."""

import numpy as np
import pytest
import torch

from utils.baselines import ease_item_weights, ease_scores


def test_ease_matches_numpy_closed_form():
    rng = np.random.default_rng(0)
    users, items = rng.integers(12, size=60), rng.integers(9, size=60)
    X = np.zeros((12, 9))
    X[users, items] = 1
    P = np.linalg.inv(X.T @ X + 5.0 * np.eye(9))
    B = np.eye(9) - P / np.diag(P)[None, :]
    np.testing.assert_allclose(ease_item_weights(users, items, 12, 9, 5.0).numpy(), B, atol=1e-10)
    assert np.allclose(np.diag(B), 0)
    torch.testing.assert_close(ease_scores(users, items, 12, 9, 5.0)(torch.tensor([3, 0])), torch.tensor(X[[3, 0]] @ B, dtype=torch.float32), rtol=1e-5, atol=1e-5)
    with pytest.raises(ValueError, match="positive"):
        ease_item_weights(users, items, 12, 9, 0.0)
