"""The training-free graph filters against their formulas computed independently in dense numpy,
their link to LightGCN, the memory guard, and the choice of hyper-parameters on validation only."""

import itertools

import numpy as np
import pytest
import torch

from utils.baselines import item_matrix_bytes
from utils.data import validation_split
from utils.graph import bipartite_adjacency, normalize_adjacency
from utils.lab import filters
from utils.lab.filters import (
    FILTERS,
    ItemGraph,
    bspm_scores,
    choose_filter_hyperparameters,
    gf_cf_scores,
    lgcn_ide_scores,
    turbo_cf_scores,
)
from utils.metrics import RankingEvaluator
from utils.models import LightGCN

# Five users, six movies; movie 5 is never rated (degree 0) and user 2's pair (2, 3) comes twice.
HAND_MADE = np.array(
    [
        [1, 1, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 0],
        [0, 1, 1, 1, 0, 0],
        [1, 1, 1, 0, 0, 0],
        [0, 0, 0, 1, 1, 0],
    ],
    dtype=float,
)
# More users than movies, so that the singular vectors come from P̃ itself rather than from R̃R̃ᵀ.
TALL = np.array([[1, 0, 1, 0], [1, 1, 0, 0], [0, 1, 1, 1], [0, 0, 1, 1], [1, 0, 0, 1], [1, 1, 1, 0], [0, 1, 0, 0]], dtype=float)


def pairs_of(matrix: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    users, items = np.nonzero(matrix)
    return users, items


def hand_made_pairs():
    users, items = pairs_of(HAND_MADE)
    return np.append(users, 2), np.append(items, 3)  # a repeated rating counts once


# ---------------------------------------------------------------------------------------------
# The formulas in dense numpy, written from the papers, independently of utils.lab.filters
# ---------------------------------------------------------------------------------------------


def inverse_power(degrees: np.ndarray, exponent: float) -> np.ndarray:
    out = np.zeros_like(degrees)
    out[degrees > 0] = degrees[degrees > 0] ** exponent
    return out


def normalized(R: np.ndarray, user_exponent=-0.5, item_exponent=-0.5) -> np.ndarray:
    return inverse_power(R.sum(1), user_exponent)[:, None] * R * inverse_power(R.sum(0), item_exponent)[None, :]


_SVD = {}  # numpy's SVD of each matrix, computed once: the synthetic one serves several cases


def ideal_low_pass(R: np.ndarray, k: int) -> np.ndarray:
    key = (R.shape, R.tobytes())
    if key not in _SVD:
        _SVD[key] = np.linalg.svd(normalized(R))
    _, singular_values, vt = _SVD[key]
    assert singular_values[k - 1] - singular_values[k] > 1e-6, "k must not split equal singular values"
    top = vt[:k].T
    degrees = R.sum(0)
    return np.diag(inverse_power(degrees, -0.5)) @ top @ top.T @ np.diag(inverse_power(degrees, 0.5))


def numpy_lgcn_ide(R, propagations):
    Rn = normalized(R)
    return Rn @ np.linalg.matrix_power(Rn.T @ Rn, propagations)


def numpy_gf_cf(R, k, alpha):
    Rn = normalized(R)
    return R @ (Rn.T @ Rn) + alpha * R @ ideal_low_pass(R, k)


def numpy_turbo_cf(R, a, s, polynomial):
    Rb = normalized(R, -a, a - 1)
    P = (Rb.T @ Rb) ** s
    polynomials = {
        "linear": P,
        "quadratic": 2 * P - P @ P,
        "cubic": P + 0.01 * (-P @ P @ P + 10 * P @ P - 29 * P),
    }
    return R @ polynomials[polynomial]


def numpy_bspm(R, k, beta, blur_time, blur_steps, sharpen_time, sharpen_steps):
    """The authors' process, one Euler step at a time on the users' rows."""
    Rn = normalized(R)
    P = Rn.T @ Rn
    blurred = R.copy()
    for _ in range(blur_steps):
        blurred = blurred + (blur_time / blur_steps) * (blurred @ P - blurred)
    state = beta * (R @ ideal_low_pass(R, k)) + blurred
    for _ in range(sharpen_steps):
        state = state - (sharpen_time / sharpen_steps) * (state @ P)
    return state


def all_scores(scorer, num_users: int) -> np.ndarray:
    scores = scorer(torch.arange(num_users))
    assert scores.dtype == torch.float64 and scores.shape[0] == num_users
    return scores.numpy()


CASES = [
    ("lgcn-ide", lgcn_ide_scores, numpy_lgcn_ide, {"propagations": 1}),
    ("lgcn-ide", lgcn_ide_scores, numpy_lgcn_ide, {"propagations": 2}),
    ("gf-cf", gf_cf_scores, numpy_gf_cf, {"num_factors": 2, "ideal_weight": 0.3}),
    ("turbo-cf", turbo_cf_scores, numpy_turbo_cf, {"normalization_exponent": 0.5, "similarity_power": 1.0, "polynomial": "linear"}),
    ("turbo-cf", turbo_cf_scores, numpy_turbo_cf, {"normalization_exponent": 0.3, "similarity_power": 0.7, "polynomial": "quadratic"}),
    ("turbo-cf", turbo_cf_scores, numpy_turbo_cf, {"normalization_exponent": 0.6, "similarity_power": 1.5, "polynomial": "cubic"}),
    ("bspm", bspm_scores, numpy_bspm,
     {"num_factors": 2, "ideal_weight": 0.3, "blur_time": 1.0, "blur_steps": 1, "sharpen_time": 1.0, "sharpen_steps": 1}),
    ("bspm", bspm_scores, numpy_bspm,
     {"num_factors": 3, "ideal_weight": 0.5, "blur_time": 0.8, "blur_steps": 3, "sharpen_time": 0.5, "sharpen_steps": 2}),
]  # fmt: skip


@pytest.mark.parametrize(("name", "scores", "reference", "hyper"), CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
@pytest.mark.parametrize("matrix", [HAND_MADE, TALL], ids=["wide", "tall"])
def test_each_filter_matches_its_formula_in_dense_numpy(name, scores, reference, hyper, matrix):
    num_users, num_items = matrix.shape
    users, items = hand_made_pairs() if matrix is HAND_MADE else pairs_of(matrix)
    got = all_scores(scores(users, items, num_users, num_items, **hyper), num_users)
    np.testing.assert_allclose(got, reference(matrix, *hyper.values()), rtol=1e-10, atol=1e-12)
    assert np.isfinite(got).all()  # training movies are scored, not masked (the evaluator masks them)
    if matrix is HAND_MADE:
        assert np.all(got[:, 5] == 0)  # a movie no one rated gets no score, never NaN


def test_each_filter_matches_its_formula_on_the_synthetic_dataset(synthetic):
    users, items = synthetic.train_pairs()
    R = np.zeros((synthetic.num_users, synthetic.num_items))
    R[users, items] = 1
    for name, scores, reference, hyper in CASES:
        if "num_factors" in hyper:
            hyper = {**hyper, "num_factors": 40}  # a larger k on a larger matrix
        got = all_scores(scores(users, items, synthetic.num_users, synthetic.num_items, **hyper), synthetic.num_users)
        np.testing.assert_allclose(got, reference(R, *hyper.values()), rtol=1e-8, atol=1e-10, err_msg=name)


def test_the_ideal_low_pass_keeps_at_most_the_rank():
    users, items = hand_made_pairs()
    graph = ItemGraph(users, items, 5, 6)
    singular_values, vectors = graph.spectrum
    np.testing.assert_allclose(singular_values.numpy(), np.linalg.svd(normalized(HAND_MADE), compute_uv=False)[: len(singular_values)])
    rank = np.linalg.matrix_rank(normalized(HAND_MADE))
    assert len(singular_values) == rank and singular_values[0] == pytest.approx(1.0)  # P̃'s eigenvalues lie in [0, 1]
    torch.testing.assert_close(graph.ideal_low_pass(rank + 10), graph.ideal_low_pass(rank))
    with pytest.raises(ValueError, match="num_factors"):
        graph.ideal_low_pass(0)


# ---------------------------------------------------------------------------------------------
# The link to LightGCN
# ---------------------------------------------------------------------------------------------


def dense_a_hat(users, items, num_users, num_items) -> np.ndarray:
    return normalize_adjacency(bipartite_adjacency(users, items, num_users, num_items).double()).to_dense().numpy()


@pytest.mark.parametrize("data", ["hand-made", "synthetic"])
def test_p_tilde_is_the_movie_block_of_lightgcns_a_hat_squared(data, synthetic):
    if data == "hand-made":
        (users, items), num_users, num_items = hand_made_pairs(), 5, 6
    else:
        (users, items), num_users, num_items = synthetic.train_pairs(), synthetic.num_users, synthetic.num_items
    a_hat = dense_a_hat(users, items, num_users, num_items)
    graph = ItemGraph(users, items, num_users, num_items)
    p_tilde = graph.normalized_item_item.numpy()
    np.testing.assert_allclose(p_tilde, (a_hat @ a_hat)[num_users:, num_users:], atol=1e-12)
    # Â's user–movie block is R̃, and Â³'s is R̃P̃: LGCN-IDE's scores.
    np.testing.assert_allclose(graph.rows(torch.arange(num_users), -0.5, -0.5).numpy(), a_hat[:num_users, num_users:], atol=1e-12)
    lgcn_ide = all_scores(lgcn_ide_scores(users, items, num_users, num_items), num_users)
    np.testing.assert_allclose(lgcn_ide, np.linalg.matrix_power(a_hat, 3)[:num_users, num_users:], atol=1e-12)


def untrained_lightgcn_scores(layer_weights, embeddings: torch.Tensor, users, items, num_users, num_items) -> np.ndarray:
    """Scores of the series' LightGCN, untrained, with ``embeddings`` as its layer-0 tables (float64)."""
    model = LightGCN(num_users, num_items, embedding_dim=embeddings.shape[1], num_layers=len(layer_weights) - 1,
                     layer_weights=layer_weights).double()  # fmt: skip
    with torch.no_grad():
        model.user_embedding.weight.copy_(embeddings[:num_users])
        model.item_embedding.weight.copy_(embeddings[num_users:])
    # Â of utils.graph, normalised in float64 here so that the comparison can be exact.
    adjacency = normalize_adjacency(bipartite_adjacency(users, items, num_users, num_items).double()).to_sparse_csr()
    return model.scorer(adjacency)(torch.arange(num_users)).numpy()


def test_untrained_lightgcn_with_orthonormal_embeddings_is_a_polynomial_filter_of_p_tilde():
    # With E Eᵀ = I (as wide random embeddings approach), scores are Σ_a,b α_a α_b [Â^(a+b)]_ui, and
    # Â's odd powers have user–movie blocks R̃, R̃P̃, R̃P̃², … (even ones have none).
    users, items = hand_made_pairs()
    num_users, num_items = 5, 6
    orthonormal = torch.linalg.qr(torch.randn(11, 11, dtype=torch.float64, generator=torch.Generator().manual_seed(0)))[0]
    lgcn_ide = all_scores(lgcn_ide_scores(users, items, num_users, num_items), num_users)
    # Layer weights (1, 0, 0, 1): the only odd pairs are (0, 3) and (3, 0), so 2 · R̃P̃ = 2 · LGCN-IDE.
    scores = untrained_lightgcn_scores([1.0, 0.0, 0.0, 1.0], orthonormal, users, items, num_users, num_items)
    np.testing.assert_allclose(scores, 2 * lgcn_ide, atol=1e-12)
    # LightGCN's own weights (1/4 each, 3 layers): (2 R̃ + 4 R̃P̃ + 2 R̃P̃²) / 16.
    scores = untrained_lightgcn_scores([0.25] * 4, orthonormal, users, items, num_users, num_items)
    Rn = normalized(HAND_MADE)
    P = Rn.T @ Rn
    np.testing.assert_allclose(scores, (2 * Rn + 4 * Rn @ P + 2 * Rn @ P @ P) / 16, atol=1e-12)


def test_random_embeddings_approach_lgcn_ide_as_they_widen(synthetic):
    users, items = synthetic.train_pairs()
    num_users, num_items = synthetic.num_users, synthetic.num_items
    lgcn_ide = all_scores(lgcn_ide_scores(users, items, num_users, num_items), num_users)
    generator = torch.Generator().manual_seed(0)
    errors = []
    for dimension in (16, 256, 4096):
        # Entries of variance 1/d: E Eᵀ → I as d grows. Layers 1 and 2 weighted 1: the scores tend to
        # [Â² + 2Â³ + Â⁴]_ui = 2 (R̃P̃)_ui. (Layer 0 is left out: its E_u · E_i tends to 0 too, but its
        # noise of size 1/√d would hide the small scores until d is in the millions.)
        embeddings = torch.randn(num_users + num_items, dimension, dtype=torch.float64, generator=generator) / dimension**0.5
        scores = untrained_lightgcn_scores([0.0, 1.0, 1.0], embeddings, users, items, num_users, num_items)
        errors.append(np.linalg.norm(scores / 2 - lgcn_ide) / np.linalg.norm(lgcn_ide))
    assert errors[0] > 3 * errors[1] > 9 * errors[2]  # 16 times wider, about 4 times closer: 1/√d
    assert errors[2] < 0.15


# ---------------------------------------------------------------------------------------------
# The memory guard
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(FILTERS))
def test_each_filter_refuses_a_movie_matrix_above_its_memory_limit(name):
    users, items = hand_made_pairs()
    fit = FILTERS[name].scores
    assert item_matrix_bytes(6) == 6 * 6 * 8
    fit(users, items, 5, 6, memory_limit_bytes=item_matrix_bytes(6))  # exactly at the limit: fine
    with pytest.raises(ValueError, match=r"6 × 6 movies × movies float64 .* above memory_limit_bytes.*LightGCN"):
        fit(users, items, 5, 6, memory_limit_bytes=item_matrix_bytes(6) - 1)


def test_the_default_limit_refuses_tens_of_thousands_of_movies_before_allocating():
    assert item_matrix_bytes(20_000) < filters.DEFAULT_MEMORY_LIMIT_BYTES < item_matrix_bytes(30_000)
    with pytest.raises(ValueError, match="30000 × 30000 movies × movies float64 matrices of 7.20 GB each"):
        gf_cf_scores(np.array([0]), np.array([0]), 1, 30_000)


def test_bad_hyperparameters_are_clear_errors():
    users, items = hand_made_pairs()
    with pytest.raises(ValueError, match="polynomial must be one of"):
        turbo_cf_scores(users, items, 5, 6, polynomial="ideal")
    with pytest.raises(ValueError, match="propagations"):
        lgcn_ide_scores(users, items, 5, 6, propagations=0)
    with pytest.raises(ValueError, match="Euler step"):
        bspm_scores(users, items, 5, 6, sharpen_steps=0)
    with pytest.raises(ValueError, match="no graph filter called 'gfcf'"):
        choose_filter_hyperparameters(None, "gfcf")


# ---------------------------------------------------------------------------------------------
# Choosing hyper-parameters on validation
# ---------------------------------------------------------------------------------------------

SMALL_GRIDS = {
    "lgcn-ide": {"propagations": (1, 2)},
    "gf-cf": {"num_factors": (8, 32), "ideal_weight": (0.3, 1.0)},
    "turbo-cf": {"normalization_exponent": (0.4, 0.5), "polynomial": ("linear", "quadratic")},
    "bspm": {"num_factors": (16,), "sharpen_time": (0.25, 1.0)},
}


class TrainOnly:
    """A dataset whose test split cannot be read: a choice that reads it fails."""

    def __init__(self, dataset):
        self._dataset = dataset

    def __getattr__(self, name):
        if name == "test":
            raise AssertionError("the test split was read while choosing hyper-parameters")
        return getattr(self._dataset, name)


@pytest.mark.parametrize("name", list(FILTERS))
def test_the_choice_is_a_grid_member_found_on_validation_alone(name, synthetic):
    grid = SMALL_GRIDS[name]
    chosen, results = choose_filter_hyperparameters(TrainOnly(synthetic), name, grid=grid)
    combinations = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    assert chosen in combinations
    assert [{key: row[key] for key in grid} for row in results] == combinations
    best = max(row["recall@10"] for row in results)
    assert next(row for row in results if {key: row[key] for key in grid} == chosen)["recall@10"] == best

    # The same number from the public scorer, fitted and scored by hand on the validation split.
    fit, validation = validation_split(synthetic.train, per_user=5, seed=0)
    evaluator = RankingEvaluator.from_dataset(synthetic, train=fit, test=validation)
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    scorer = FILTERS[name].scores(users, items, synthetic.num_users, synthetic.num_items, **chosen)
    assert evaluator.evaluate(scorer)["recall@10"] == pytest.approx(best, abs=1e-12)


def test_the_default_grids_name_real_hyperparameters_and_the_choice_keeps_the_memory_guard(synthetic):
    import inspect

    for name, spec in FILTERS.items():
        parameters = inspect.signature(spec.scores).parameters
        assert set(spec.grid) <= set(parameters), name
        for key, values in spec.grid.items():
            assert len(values) >= 1 and parameters[key].default is not inspect.Parameter.empty, (name, key)
    with pytest.raises(ValueError, match="above memory_limit_bytes"):
        choose_filter_hyperparameters(synthetic, "gf-cf", memory_limit_bytes=1000)
