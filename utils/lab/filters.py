r"""Training-free graph filters: scorers computed in closed form from the normalised item–item graph.

With the 0/1 interaction matrix :math:`R` (users × movies), the user degrees :math:`D_U` and movie
degrees :math:`D_I` (diagonal), every filter here starts from the symmetrically normalised matrix
and its item–item product,

.. math::

    \tilde R = D_U^{-1/2} R \, D_I^{-1/2}, \qquad \tilde P = \tilde R^\top \tilde R
    \quad (\text{movies} \times \text{movies}),

which is the movie–movie block of :math:`\hat A^2`, the square of LightGCN's normalised adjacency
(:mod:`utils.graph`). :math:`\tilde P` is symmetric with eigenvalues in :math:`[0, 1]`; its
eigenvectors are the right singular vectors of :math:`\tilde R`, its eigenvalues their squared
singular values. Every filter scores a user with a row vector times a movies × movies matrix
:math:`H`, computed once: ``scores(users) = rows[users] @ H``.

* **LGCN-IDE** (Shen et al., "How Powerful is Graph Convolution for Recommendation?", CIKM 2021,
  https://arxiv.org/abs/2108.07567, code https://github.com/yshenaw/GF_CF): untrained LightGCN in
  the limit of infinitely wide random embeddings, :math:`\tilde r_u \tilde P^{p}` with the user's
  *normalised* row :math:`\tilde r_u = \tilde R[u]`, ``p = 1`` (the authors' code uses ``p = 2``
  on Gowalla).
* **GF-CF** (same paper): the linear filter plus an ideal low-pass filter of rank ``k``,
  :math:`r_u \tilde P + \alpha\, r_u D_I^{-1/2} V_k V_k^\top D_I^{1/2}`, with the *raw* row
  :math:`r_u = R[u]` and :math:`V_k` the top-``k`` right singular vectors of :math:`\tilde R`.
* **Turbo-CF** (Park et al., "Turbo-CF: Matrix Decomposition-Free Graph Filtering for Fast
  Recommendation", SIGIR 2024, https://arxiv.org/abs/2404.14243, code
  https://github.com/jindeok/Turbo-CF): an asymmetric normalisation and an element-wise power,
  :math:`\bar R = D_U^{-a} R D_I^{-(1-a)}`, :math:`\bar P = (\bar R^\top \bar R)^{\circ s}`, then a
  polynomial low-pass filter :math:`f(\bar P)` and :math:`r_u f(\bar P)`; no decomposition at all.
* **BSPM** (Choi et al., "Blurring-Sharpening Process Models for Collaborative Filtering", SIGIR
  2023, https://arxiv.org/abs/2211.09324, code https://github.com/jeongwhanchoi/BSPM): blur the
  row with the heat equation on :math:`\tilde P`, add GF-CF's ideal low-pass part, then sharpen
  by running a reversed diffusion; Euler steps, as the authors' code runs it.

Each ``<name>_scores(train_users, train_items, num_users, num_items, **hyper)`` returns
``scores(users) -> (len(users), movies)`` float64 scores for :class:`utils.metrics.RankingEvaluator`,
like :func:`utils.baselines.ease_scores`; training movies are left in (the evaluator masks them).
:func:`choose_filter_hyperparameters` picks a filter's hyper-parameters on the validation split, as
:func:`utils.baselines.choose_ease_regularization` picks EASE's λ.

Memory: every filter holds a few dense movies × movies float64 matrices (and builds users' rows a
block at a time from the sparse ratings). Each refuses, with a ``ValueError`` that says what to use
instead, when one such matrix would exceed ``memory_limit_bytes``.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from utils.baselines import DEFAULT_MEMORY_LIMIT_BYTES, check_item_matrix_fits

Scorer = Callable[[torch.Tensor], torch.Tensor]

DTYPE = torch.float64
#: Turbo-CF's polynomial low-pass filters of the authors' code (``--filter`` 1, 2, 3), by name.
TURBO_CF_POLYNOMIALS = ("linear", "quadratic", "cubic")


def _degree_power(degrees: torch.Tensor, exponent: float) -> torch.Tensor:
    """``d^exponent``, and 0 for degree 0 (a movie or user with no training rating stays all-zero)."""
    return torch.where(degrees > 0, degrees.clamp(min=1.0).pow(exponent), torch.zeros_like(degrees))


class ItemGraph:
    r"""The training ratings as a sparse :math:`R`, its degrees, and the dense :math:`\tilde P`.

    Rows of :math:`R` are only made dense a block of users at a time, so memory grows with the
    ratings and with movies², never with users × movies. Built once, it serves every filter and
    every hyper-parameter of a validation grid (:func:`choose_filter_hyperparameters`).
    """

    def __init__(self, train_users, train_items, num_users: int, num_items: int, *,
                 memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES, model: str = "a graph filter"):  # fmt: skip
        check_item_matrix_fits(model, num_items, memory_limit_bytes)
        users, items = (torch.tensor(np.asarray(index), dtype=torch.long) for index in (train_users, train_items))
        ratings = torch.sparse_coo_tensor(torch.stack([users, items]), torch.ones(len(users), dtype=DTYPE), (num_users, num_items),
                                          check_invariants=True)
        ratings = ratings.coalesce()
        # coalesce() sums repeated (user, movie) pairs; a rating is there or not, as in interaction_matrix.
        self.interactions = torch.sparse_coo_tensor(ratings.indices(), torch.ones_like(ratings.values()), ratings.shape,
                                                    check_invariants=False).coalesce()
        self.num_users, self.num_items = num_users, num_items
        self.user_degrees = torch.sparse.sum(self.interactions, dim=1).to_dense() if len(users) else torch.zeros(num_users, dtype=DTYPE)
        self.item_degrees = torch.sparse.sum(self.interactions, dim=0).to_dense() if len(users) else torch.zeros(num_items, dtype=DTYPE)
        # Blocks of users as big as one movies × movies matrix: the peak memory stays a few of those.
        self.block_users = max(256, num_items)

    def rows(self, users: torch.Tensor, user_exponent: float = 0.0, item_exponent: float = 0.0) -> torch.Tensor:
        r"""Dense rows of :math:`D_U^{e_U} R D_I^{e_I}` for ``users``: ``(len(users), I)``, float64."""
        users = torch.as_tensor(users, dtype=torch.long).cpu()
        block = torch.index_select(self.interactions, 0, users).to_dense()
        if user_exponent:
            block *= _degree_power(self.user_degrees[users], user_exponent)[:, None]
        if item_exponent:
            block *= _degree_power(self.item_degrees, item_exponent)[None, :]
        return block

    def item_gram(self, user_exponent: float, item_exponent: float) -> torch.Tensor:
        r""":math:`X^\top X` for :math:`X = D_U^{e_U} R D_I^{e_I}` (movies × movies), summed over user blocks."""
        gram = torch.zeros(self.num_items, self.num_items, dtype=DTYPE)
        for start in range(0, self.num_users, self.block_users):
            block = self.rows(torch.arange(start, min(start + self.block_users, self.num_users)), user_exponent, item_exponent)
            gram.addmm_(block.T, block)
        return gram

    @functools.cached_property
    def normalized_item_item(self) -> torch.Tensor:
        r""":math:`\tilde P = \tilde R^\top \tilde R` with :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}`."""
        return self.item_gram(-0.5, -0.5)

    @functools.cached_property
    def spectrum(self) -> tuple[torch.Tensor, torch.Tensor]:
        r"""``(σ, V)``: the nonzero singular values of :math:`\tilde R`, largest first, and its right
        singular vectors as the columns of ``V`` (movies × rank).

        Computed with a symmetric eigen-decomposition of the smaller Gram matrix: :math:`\tilde P`
        itself when there are no more movies than users, else :math:`\tilde R \tilde R^\top`, whose
        eigenvectors :math:`u` give :math:`v = \tilde R^\top u / \sigma`. Exact (no random
        projection), and several times cheaper than ``torch.linalg.svd`` of :math:`\tilde R`.
        """
        if self.num_items <= self.num_users:
            eigenvalues, vectors = torch.linalg.eigh(self.normalized_item_item)
            eigenvalues, vectors = eigenvalues.flip(0), vectors.flip(1)
        else:
            # Fewer users than movies: the dense users × movies R̃ is smaller than one movies × movies matrix.
            normalized = self.rows(torch.arange(self.num_users), -0.5, -0.5)
            eigenvalues, left = torch.linalg.eigh(normalized @ normalized.T)
            eigenvalues, left = eigenvalues.flip(0), left.flip(1)
            vectors = normalized.T @ left
        # Eigenvalues at rounding level are zero singular values: their vectors are not defined by R̃.
        tolerance = eigenvalues[:1].clamp(min=0) * max(self.num_users, self.num_items) * torch.finfo(DTYPE).eps
        rank = int((eigenvalues > tolerance).sum()) if len(eigenvalues) else 0
        singular_values = eigenvalues[:rank].sqrt()
        vectors = vectors[:, :rank]
        if self.num_items > self.num_users:
            vectors = vectors / singular_values
        return singular_values, vectors

    def ideal_low_pass(self, num_factors: int) -> torch.Tensor:
        r""":math:`D_I^{-1/2} V_k V_k^\top D_I^{1/2}`, GF-CF's ideal low-pass filter (movies × movies).

        ``k = num_factors``, capped at the rank of :math:`\tilde R` (beyond it there are no more
        singular vectors to keep). :math:`D_I^{1/2}` is 0 for a movie without training ratings (its
        column of :math:`V_k` is 0 anyway; the authors' ``1 / d^{-1/2}`` would be ``inf`` there).
        """
        if num_factors < 1:
            raise ValueError(f"the ideal low-pass filter needs num_factors ≥ 1, got {num_factors}.")
        top = self.spectrum[1][:, :num_factors]
        left = _degree_power(self.item_degrees, -0.5)[:, None] * top
        right = top.T * _degree_power(self.item_degrees, 0.5)[None, :]
        return left @ right


def lightgcn_polynomial(layer_weights: Sequence[float]) -> np.ndarray:
    r"""The coefficients :math:`c_m` of LightGCN's frequency response :math:`h(\lambda) = \sum_m c_m \lambda^m`
    (notebook 07): with :math:`E^{(0)} E^{(0)\top} = I` its scores are :math:`\tilde R \sum_m c_m \tilde P^m`,
    :math:`c_m = \sum_{a + b = 2m + 1} \alpha_a \alpha_b` over pairs of layers (odd sums alone cross
    from users to movies)."""
    coefficients = np.zeros(len(layer_weights))
    for a, alpha_a in enumerate(layer_weights):
        for b, alpha_b in enumerate(layer_weights):
            if (a + b) % 2 == 1:
                coefficients[(a + b) // 2] += alpha_a * alpha_b
    return coefficients


def frequency_response(coefficients: Sequence[float]) -> Callable:
    """``h(λ) = Σ_m c_m λ^m`` as a function of a number, an array or a tensor of eigenvalues."""
    return lambda lam: sum(float(c) * lam**m for m, c in enumerate(coefficients))


def lightgcn_response(layer_weights: Sequence[float]) -> Callable:
    """LightGCN's frequency response ``h`` for the layer weights ``α_k``: :func:`frequency_response`
    of :func:`lightgcn_polynomial`."""
    return frequency_response(lightgcn_polynomial(layer_weights))


@dataclass(frozen=True)
class LinearFilter:
    r"""A filter as ``scores = rows @ item_filter``: which rows (raw :math:`R` or normalised
    :math:`\tilde R`) and the movies × movies matrix they are multiplied by."""

    item_filter: torch.Tensor
    normalized_rows: bool = False

    def scorer(self, graph: ItemGraph) -> Scorer:
        exponent = -0.5 if self.normalized_rows else 0.0

        def scores(users: torch.Tensor) -> torch.Tensor:
            return graph.rows(users, exponent, exponent) @ self.item_filter

        return scores


# ---------------------------------------------------------------------------------------------
# The filters, each as a movies × movies matrix built from an ItemGraph
# ---------------------------------------------------------------------------------------------


def lgcn_ide_filter(graph: ItemGraph, propagations: int = 1) -> LinearFilter:
    r"""LGCN-IDE: :math:`\tilde r_u \tilde P^{p}`, the user's normalised row :math:`\tilde r_u = \tilde R[u]`.

    The normalised row is the authors' code (``batch_test = norm_adj[batch_users]``), and the limit
    of untrained LightGCN: with orthonormal embeddings :math:`E` (:math:`EE^\top = I`, which random
    embeddings approach as their dimension grows), a user's layer-1 embedding scored against a
    movie's layer-2 embedding is :math:`[\hat A E (\hat A^2 E)^\top]_{ui} = [\hat A^3]_{ui} =
    (\tilde R \tilde P)_{ui}`. GF-CF instead starts from the raw row :math:`r_u`. ``p = propagations``.
    """
    if propagations < 1:
        raise ValueError(f"LGCN-IDE needs propagations ≥ 1, got {propagations}.")
    return LinearFilter(torch.linalg.matrix_power(graph.normalized_item_item, propagations), normalized_rows=True)


def gf_cf_filter(graph: ItemGraph, num_factors: int = 256, ideal_weight: float = 0.3) -> LinearFilter:
    r"""GF-CF: :math:`r_u \tilde P + \alpha\, r_u D_I^{-1/2} V_k V_k^\top D_I^{1/2}`, the raw row :math:`r_u = R[u]`.

    ``k = num_factors``, ``α = ideal_weight``; the defaults are the authors' code (256, 0.3).
    """
    return LinearFilter(graph.normalized_item_item + ideal_weight * graph.ideal_low_pass(num_factors))


def turbo_cf_filter(graph: ItemGraph, normalization_exponent: float = 0.6, similarity_power: float = 0.7,
                    polynomial: str = "linear") -> LinearFilter:  # fmt: skip
    r"""Turbo-CF: :math:`r_u f(\bar P)`, :math:`\bar P = (\bar R^\top \bar R)^{\circ s}`, :math:`\bar R = D_U^{-a} R D_I^{-(1-a)}`.

    ``a = normalization_exponent`` (1/2: :math:`\bar R = \tilde R`), ``s = similarity_power``
    (element-wise), and the authors' three polynomial low-pass filters ``polynomial``:

    * ``"linear"``: :math:`f(\bar P) = \bar P`;
    * ``"quadratic"``: :math:`f(\bar P) = 2\bar P - \bar P^2`;
    * ``"cubic"``: :math:`f(\bar P) = \bar P + 0.01(-\bar P^3 + 10\bar P^2 - 29\bar P)`.

    The polynomials are low-pass on :math:`[0, 1]`, where :math:`\bar P`'s eigenvalues lie for
    ``a = 1/2, s = 1``. For other ``a`` or ``s`` the largest eigenvalues can pass 1, where the
    quadratic and cubic polynomials turn down again (:math:`2x - x^2` is 0 at 2): with ``s < 1`` the
    quadratic filter can rank the most similar movies last. Like the authors' code, we do not
    rescale :math:`\bar P`; the validation choice steers clear of such pairs. The defaults are
    their ``main.py``'s (``--alpha 0.6 --power 0.7``, linear filter).
    """
    if not 0.0 <= normalization_exponent <= 1.0:
        raise ValueError(f"Turbo-CF's normalization_exponent a must lie in [0, 1], got {normalization_exponent}.")
    if similarity_power <= 0:
        raise ValueError(f"Turbo-CF's similarity_power s must be positive, got {similarity_power}.")
    if polynomial not in TURBO_CF_POLYNOMIALS:
        raise ValueError(f"Turbo-CF's polynomial must be one of {TURBO_CF_POLYNOMIALS}, got {polynomial!r}.")
    similarity = graph.item_gram(-normalization_exponent, normalization_exponent - 1.0).pow_(similarity_power)
    if polynomial == "linear":
        return LinearFilter(similarity)
    squared = similarity @ similarity
    if polynomial == "quadratic":
        return LinearFilter(2.0 * similarity - squared)
    return LinearFilter(similarity + 0.01 * (-(squared @ similarity) + 10.0 * squared - 29.0 * similarity))


def bspm_filter(graph: ItemGraph, num_factors: int = 256, ideal_weight: float = 0.3, blur_time: float = 1.0,
                blur_steps: int = 1, sharpen_time: float = 1.0, sharpen_steps: int = 1) -> LinearFilter:  # fmt: skip
    r"""BSPM with Euler steps, as the authors' code runs it (``--solver_* euler``, ``--final_sharpening True``).

    From the raw row :math:`r(0) = r_u`:

    1. **Blur**: the heat equation :math:`\frac{dr}{dt} = r(\tilde P - I)` over time :math:`T_b` in
       :math:`K_b` Euler steps of :math:`\tau_b = T_b / K_b`: :math:`r_b = r_u((1-\tau_b)I + \tau_b\tilde P)^{K_b}`
       (one step of 1, the default, is :math:`r_u \tilde P`).
    2. **Ideal low-pass**: :math:`r_u D_I^{-1/2} V_k V_k^\top D_I^{1/2}` as in GF-CF (the code's one
       Euler step of size 1 of :math:`\frac{dr}{dt} = r(\mathrm{ideal} - I)` is exactly this).
    3. **Sharpen** from :math:`\beta \cdot \mathrm{ideal} + r_b`: :math:`\frac{dr}{dt} = -r\tilde P`
       over :math:`T_s` in :math:`K_s` Euler steps: :math:`(\beta\, r_u\,\mathrm{ideal} + r_b)(I - \tau_s \tilde P)^{K_s}`.

    The paper writes sharpening as the reversed heat equation :math:`\frac{dr}{dt} = r(I - \tilde P)`;
    its code drops the identity term, and so do we. Not implemented: the code's Runge–Kutta solvers
    and ``t_point_combination`` (averaging the intermediate states). ``k = num_factors``,
    ``β = ideal_weight``; the defaults are the code's (256, 0.3, all times 1, one step each).
    """
    if blur_steps < 1 or sharpen_steps < 1:
        raise ValueError(f"BSPM needs at least one Euler step each, got blur_steps={blur_steps}, sharpen_steps={sharpen_steps}.")
    if blur_time < 0 or sharpen_time < 0:
        raise ValueError(f"BSPM's times must be 0 or more, got blur_time={blur_time}, sharpen_time={sharpen_time}.")
    linear = graph.normalized_item_item
    identity = torch.eye(graph.num_items, dtype=DTYPE)
    blur_step, sharpen_step = blur_time / blur_steps, sharpen_time / sharpen_steps
    blurred = torch.linalg.matrix_power((1.0 - blur_step) * identity + blur_step * linear, blur_steps)
    sharpen = torch.linalg.matrix_power(identity - sharpen_step * linear, sharpen_steps)
    return LinearFilter((ideal_weight * graph.ideal_low_pass(num_factors) + blurred) @ sharpen)


# ---------------------------------------------------------------------------------------------
# Scorers, as utils.baselines.ease_scores
# ---------------------------------------------------------------------------------------------


def lgcn_ide_scores(train_users, train_items, num_users: int, num_items: int, propagations: int = 1, *,
                    memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> Scorer:  # fmt: skip
    """LGCN-IDE's ``scores(users)`` (:func:`lgcn_ide_filter`)."""
    graph = ItemGraph(train_users, train_items, num_users, num_items, memory_limit_bytes=memory_limit_bytes, model="LGCN-IDE")
    return lgcn_ide_filter(graph, propagations).scorer(graph)


def gf_cf_scores(train_users, train_items, num_users: int, num_items: int, num_factors: int = 256,
                 ideal_weight: float = 0.3, *, memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> Scorer:  # fmt: skip
    """GF-CF's ``scores(users)`` (:func:`gf_cf_filter`)."""
    graph = ItemGraph(train_users, train_items, num_users, num_items, memory_limit_bytes=memory_limit_bytes, model="GF-CF")
    return gf_cf_filter(graph, num_factors, ideal_weight).scorer(graph)


def turbo_cf_scores(train_users, train_items, num_users: int, num_items: int, normalization_exponent: float = 0.6,
                    similarity_power: float = 0.7, polynomial: str = "linear", *,
                    memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> Scorer:  # fmt: skip
    """Turbo-CF's ``scores(users)`` (:func:`turbo_cf_filter`)."""
    graph = ItemGraph(train_users, train_items, num_users, num_items, memory_limit_bytes=memory_limit_bytes, model="Turbo-CF")
    return turbo_cf_filter(graph, normalization_exponent, similarity_power, polynomial).scorer(graph)


def bspm_scores(train_users, train_items, num_users: int, num_items: int, num_factors: int = 256,
                ideal_weight: float = 0.3, blur_time: float = 1.0, blur_steps: int = 1, sharpen_time: float = 1.0,
                sharpen_steps: int = 1, *, memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> Scorer:  # fmt: skip
    """BSPM's ``scores(users)`` (:func:`bspm_filter`)."""
    graph = ItemGraph(train_users, train_items, num_users, num_items, memory_limit_bytes=memory_limit_bytes, model="BSPM")
    return bspm_filter(graph, num_factors, ideal_weight, blur_time, blur_steps, sharpen_time, sharpen_steps).scorer(graph)


# ---------------------------------------------------------------------------------------------
# The registry and the choice of hyper-parameters on validation
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GraphFilter:
    """One training-free filter: its bench name, scorer, filter builder and default validation grid."""

    name: str
    scores: Callable[..., Scorer]
    build: Callable[..., LinearFilter]
    grid: Mapping[str, Sequence] = field(default_factory=dict)
    description: str = ""


#: Every filter by its bench name. The grids are small: each choice takes seconds on ML-100K.
FILTERS: dict[str, GraphFilter] = {
    spec.name: spec
    for spec in (
        GraphFilter("lgcn-ide", lgcn_ide_scores, lgcn_ide_filter, {"propagations": (1, 2)},
                    "LGCN-IDE, untrained LightGCN's infinite-width limit, chosen on validation (closed form)"),
        GraphFilter("gf-cf", gf_cf_scores, gf_cf_filter, {"num_factors": (16, 32, 64, 128), "ideal_weight": (0.3, 1.0, 3.0)},
                    "GF-CF, linear + ideal low-pass filter, chosen on validation (closed form)"),
        GraphFilter("turbo-cf", turbo_cf_scores, turbo_cf_filter,
                    {"normalization_exponent": (0.3, 0.4, 0.5, 0.6), "similarity_power": (0.7, 1.0), "polynomial": TURBO_CF_POLYNOMIALS},
                    "Turbo-CF, polynomial filters without decomposition, chosen on validation (closed form)"),
        # Sharpening times above 0 only: at 0, BSPM is GF-CF (the code's --sharpening_off), which has its own row.
        GraphFilter("bspm", bspm_scores, bspm_filter,
                    {"num_factors": (32, 64), "ideal_weight": (0.3, 1.0), "sharpen_time": (0.25, 0.5, 1.0)},
                    "BSPM, blur + ideal low-pass + sharpen (Euler), chosen on validation (closed form)"),
    )
}  # fmt: skip


def get_filter(name: str) -> GraphFilter:
    """The filter called ``name``, or an error listing the names that exist."""
    if name not in FILTERS:
        raise ValueError(f"no graph filter called {name!r}; the filters are {', '.join(FILTERS)}.")
    return FILTERS[name]


def choose_filter_hyperparameters(dataset, name: str, grid: Mapping[str, Sequence] | None = None, per_user: int = 5, *,
                                  memory_limit_bytes: float = DEFAULT_MEMORY_LIMIT_BYTES) -> tuple[dict, list[dict]]:  # fmt: skip
    """The hyper-parameters of filter ``name`` with the best Recall@10 on the validation split.

    As :func:`utils.baselines.choose_ease_regularization`: ``per_user`` training ratings of every
    user are held out (:func:`utils.data.validation_split`, seed 0), the filter is fitted on the
    rest and every combination of ``grid`` (default: the filter's :attr:`GraphFilter.grid`) is
    scored on the held-out ratings. The test split is never read. Hyper-parameters not in the grid
    keep their defaults. Returns ``(chosen, results)``: the best combination (the first of equals,
    in grid order) and one ``{**combination, "recall@10": value}`` per combination.
    """
    from utils.data import validation_split
    from utils.metrics import RankingEvaluator

    spec = get_filter(name)
    grid = dict(spec.grid if grid is None else grid)
    if not grid or any(len(values) == 0 for values in grid.values()):
        raise ValueError(f"the grid of {name} needs at least one value per hyper-parameter, got {grid}.")
    fit, validation = validation_split(dataset.train, per_user=per_user, seed=0)
    evaluator = RankingEvaluator.from_dataset(dataset, train=fit, test=validation)
    # One graph for the whole grid: P̃ and its singular vectors are computed once.
    graph = ItemGraph(fit["user_index"].to_numpy(), fit["item_index"].to_numpy(), dataset.num_users, dataset.num_items,
                      memory_limit_bytes=memory_limit_bytes, model=name)  # fmt: skip
    results = []
    for values in itertools.product(*grid.values()):
        combination = dict(zip(grid, values))
        recall = evaluator.evaluate(spec.build(graph, **combination).scorer(graph))["recall@10"]
        results.append({**combination, "recall@10": recall})
    best = max(results, key=lambda row: row["recall@10"])
    return {key: best[key] for key in grid}, results
