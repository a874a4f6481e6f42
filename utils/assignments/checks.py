r"""The checks of the graded questions: each compares a student's function with the series' own
(:mod:`utils`) or with values worked out by hand, and fails with a sentence that says what is wrong.

A check is called as ``checks.<question>(student_function)`` (the public test a student runs with
``grader.check``) and ``checks.<question>(student_function, hidden=True)`` (the hidden test the
autograder adds: other sizes, edge cases). It returns ``None`` and prints nothing when the answer
is right, and raises :class:`AssertionError` with the reason when it is not; a function still
holding its blank ``...`` is told so rather than crashing. The inputs are small graphs and tables
made here, so a check needs neither the dataset nor the rest of the notebook.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import torch

from utils import data, graph, losses, metrics, models, training


class WrongAnswer(AssertionError):
    """What a check found wrong, in one sentence (a subclass of AssertionError, as otter expects)."""


#: What an answer may not use: the series' own version of the idea, which the check compares with
#: (names of modules, classes, functions and methods, as the answer's bytecode names them).
LIBRARY_VERSIONS = {
    "index_ids": ("IdMapping", "item_index", "user_index"),
    "normalize": ("normalize_adjacency", "normalized_bipartite_adjacency"),
    "propagate_once": ("normalize_adjacency", "normalized_bipartite_adjacency", "models"),
    "lightgcn_embeddings": ("get_embedding", "layer_embeddings", "models"),
    "sample_negatives": ("NegativeSampler", "training"),
    "bpr_loss": ("losses",),
    "bpr_step": ("loss", "Trainer", "training"),
    "top_k_unseen": ("RankingEvaluator", "top_k", "metrics"),
    "recall_at_k": ("RankingEvaluator", "metrics"),
    "ndcg_at_k": ("RankingEvaluator", "metrics"),
    "fold_in_user": ("fold_in", "Recommender", "recommend"),
    "lightgcn_polynomial": ("filters",),
}


def names_used(code) -> set[str]:
    """The global and attribute names a function's code uses, its inner functions' included (a
    local variable is not among them, so ``loss = ...`` is not ``model.loss(...)``)."""
    names = set(code.co_names)
    for constant in code.co_consts:
        if hasattr(constant, "co_names"):
            names |= names_used(constant)
    return names


def _library_call(question: str, student_function) -> str | None:
    code = getattr(student_function, "__code__", None)
    if code is None:
        return None
    used = names_used(code)
    return next((name for name in LIBRARY_VERSIONS.get(question, ()) if name in used), None)


def _check(function):
    """A check that reports its finding without the check's own frames (they teach nothing), and
    that refuses an answer calling the series' own version of the idea."""

    @functools.wraps(function)
    def check(student_function, hidden: bool = False) -> None:
        called = _library_call(function.__name__, student_function)
        if called:
            raise WrongAnswer(f"your answer uses the library's `{called}`: write the idea itself (the check compares "
                              "your function with the library's version).")  # fmt: skip
        try:
            function(student_function, hidden)
        except AssertionError as finding:
            raise WrongAnswer(str(finding)) from None

    return check


def _call(function, *args, **kwargs):
    """``function(*args)``, with a clear message when it is still blank or raises."""
    name = getattr(function, "__name__", "the function")
    if function is Ellipsis or not callable(function):
        raise AssertionError(f"`{name}` is not a function yet: write it in the cell above, run that cell, then this check.")
    try:
        result = function(*args, **kwargs)
    except Exception as error:  # the student's own error, reported as the check's finding
        raise AssertionError(f"`{name}` raised {type(error).__name__}: {error}") from error
    if result is Ellipsis or result is None:
        raise AssertionError(f"`{name}` returned {result!r}: its body is still blank (or it lacks a `return`). Write it, run the cell, then this check.")
    return result


def _dense(tensor, name: str) -> torch.Tensor:
    if isinstance(tensor, np.ndarray):
        tensor = torch.from_numpy(tensor)
    if not isinstance(tensor, torch.Tensor):
        raise AssertionError(f"`{name}` must return a torch tensor, got {type(tensor).__name__}.")
    if tensor.layout != torch.strided:
        tensor = tensor.to_dense()
    return tensor.double()


def _finite(tensor: torch.Tensor, what: str, hint: str = "look for a division by zero or an overflow.") -> None:
    if not torch.isfinite(tensor).all():
        bad = int((~torch.isfinite(tensor)).sum())
        raise AssertionError(f"{what} holds {bad} NaN or infinite value(s): {hint}")


def _toy_graph():
    """Notebook 02's toy graph: Ann rated movies 0 and 1, Ben 1 and 2, Cat 3 (3 users, 4 movies)."""
    return np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 2, 3]), 3, 4


def _random_graph(seed: int, num_users: int, num_items: int, density: float, isolated: bool = False):
    rng = np.random.default_rng(seed)
    rated = rng.random((num_users, num_items)) < density
    rated[np.arange(num_users), rng.integers(0, num_items, num_users)] = True  # every user rates one
    if isolated:
        rated[:, -1] = False  # the last movie: nobody rated it (a node of degree 0)
        rated[-1] = False  # the last user: rated nothing
    users, items = np.nonzero(rated)
    return users, items, num_users, num_items


# 01 · The id mapping ------------------------------------------------------------------------------


@_check
def index_ids(index_ids_function, hidden: bool = False) -> None:
    """``index_ids(known_ids, ids)``: each id's position among the sorted distinct ``known_ids``,
    :data:`utils.data.UNSEEN` (-1) for an id not among them; integers, never NaN."""
    cases = [(np.array([10, 3, 7, 3, 10]), np.array([3, 7, 10, 5, 7]))]
    if hidden:
        rng = np.random.default_rng(1)
        known = rng.choice(10_000, 500, replace=False)
        cases += [(known, rng.integers(-5, 10_100, 2_000)),  # ids below, inside and above the known
                  (np.array([42]), np.array([41, 42, 43])),
                  (np.array([5, 1, 9]), np.array([], dtype=np.int64))]
    for known, ids in cases:
        got = _call(index_ids_function, known.copy(), ids.copy())
        got = np.asarray(got)
        if got.dtype.kind == "f":
            raise AssertionError(f"`index_ids` returned floats ({got.dtype}), so NaN can hide in it: an index is an "
                                 f"integer, and an unknown id gets UNSEEN = {data.UNSEEN}, not NaN.")
        unique = np.unique(known)
        expected = data.IdMapping(unique, unique).item_index(ids)
        if got.shape != expected.shape:
            raise AssertionError(f"`index_ids` must return one index per id: {expected.shape}, got {got.shape}.")
        unknown = ~np.isin(ids, known)
        if unknown.any() and not (got[unknown] == data.UNSEEN).all():
            raise AssertionError(f"ids not among the known ones (e.g. {ids[unknown][0]}) must get UNSEEN = {data.UNSEEN}: "
                                 "a binary search alone gives the position where they *would* sit.")
        if not np.array_equal(got, expected):
            wrong = int(np.flatnonzero(got != expected)[0])
            raise AssertionError(f"id {ids[wrong]} should map to {expected[wrong]} (its position among the sorted distinct "
                                 f"known ids {unique[:8].tolist()}{' …' if len(unique) > 8 else ''}), got {got[wrong]}.")


# 02 · The normalised adjacency ----------------------------------------------------------------------


@_check
def normalize(normalize_function, hidden: bool = False) -> None:
    """``normalize(adjacency)``: ``Â = D^-1/2 A D^-1/2`` of a symmetric sparse adjacency, degree-0
    nodes' rows and columns left at 0."""
    cases = [_toy_graph()]
    if hidden:
        cases += [_random_graph(2, 30, 50, 0.1, isolated=True), _random_graph(3, 7, 5, 0.5)]
    for users, items, num_users, num_items in cases:
        adjacency = graph.bipartite_adjacency(users, items, num_users, num_items)
        got = _dense(_call(normalize_function, adjacency.clone()), "normalize")
        expected = graph.normalize_adjacency(adjacency).to_dense().double()
        if got.shape != expected.shape:
            raise AssertionError(f"Â must have the shape of A, {tuple(expected.shape)}, got {tuple(got.shape)}.")
        _finite(got, "your Â", "a node with no edges has degree 0, and 0 ** -0.5 is inf (inf · 0 is NaN): give such nodes 0.")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        dense = adjacency.to_dense().double()
        degrees = dense.sum(1).clamp(min=1)
        if torch.allclose(got, dense / degrees[:, None], atol=1e-6):
            raise AssertionError("your Â is D^-1 A (each row divided by its degree, rows summing to 1): LightGCN "
                                 "divides by the square roots of *both* ends' degrees, D^-1/2 A D^-1/2.")
        if torch.allclose(got, dense, atol=1e-6):
            raise AssertionError("your Â equals A: the degrees are missing.")
        if not torch.allclose(got, got.T, atol=1e-6):
            raise AssertionError("your Â is not symmetric, but D^-1/2 A D^-1/2 of a symmetric A is: scale row i by "
                                 "d_i^-1/2 *and* column j by d_j^-1/2.")
        i, j = (int(x) for x in torch.nonzero((got - expected).abs() > 1e-6)[0])
        raise AssertionError(f"entry ({i}, {j}) should be {expected[i, j]:.4f} = A_ij / sqrt(d_i d_j), got {got[i, j]:.4f}.")


# 03 · One propagation layer, and the model ------------------------------------------------------------


@_check
def propagate_once(propagate_function, hidden: bool = False) -> None:
    """``propagate_once(users, items, embeddings, num_users)``: one LightGCN layer, each node the
    sum of its neighbours' embeddings weighted ``1/sqrt(d_u d_i)``, users first in the table."""
    cases = [(*_toy_graph(), 2)]
    if hidden:
        cases += [(*_random_graph(4, 20, 35, 0.15, isolated=True), 5)]
    for seed, (users, items, num_users, num_items, dim) in enumerate(cases):
        embeddings = torch.randn(num_users + num_items, dim, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
        got = _dense(_call(propagate_function, torch.as_tensor(users), torch.as_tensor(items), embeddings.clone(), num_users),
                     "propagate_once")
        a_hat = graph.normalize_adjacency(graph.bipartite_adjacency(users, items, num_users, num_items)).to_dense().double()
        expected = a_hat @ embeddings
        if got.shape != expected.shape:
            raise AssertionError(f"E^(k+1) must have the shape of E^(k), {tuple(expected.shape)}, got {tuple(got.shape)}.")
        _finite(got, "E^(k+1)")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        a = (a_hat > 0).double()
        if torch.allclose(got, a @ embeddings, atol=1e-6):
            raise AssertionError("E^(k+1) is the plain sum of the neighbours' embeddings: each message must be "
                                 "weighted 1 / sqrt(d_u · d_i).")
        if torch.allclose(got, (a / a.sum(1).clamp(min=1)[:, None]) @ embeddings, atol=1e-6):
            raise AssertionError("E^(k+1) is the mean of the neighbours' embeddings (1/d_u): LightGCN weights by "
                                 "1 / sqrt(d_u · d_i), which also involves the sender's degree.")
        if torch.allclose(got[:num_users], expected[:num_users], atol=1e-6):
            raise AssertionError("the users' rows are right but the movies' are not: every edge carries a message both "
                                 "ways, movie → user and user → movie.")
        if torch.allclose(got[num_users:], expected[num_users:], atol=1e-6):
            raise AssertionError("the movies' rows are right but the users' are not: every edge carries a message both "
                                 "ways, movie → user and user → movie.")
        raise AssertionError("E^(k+1) differs from Â E^(k) (checked against a dense Â in float64).")


@_check
def lightgcn_embeddings(embeddings_function, hidden: bool = False) -> None:
    """``lightgcn_embeddings(normalized_adjacency, layer0, num_layers)``: the final embeddings, the
    mean of ``E^(0) … E^(K)``, and equal to utils' ``LightGCN.get_embedding``."""
    cases = [(*_toy_graph(), 2, 2)]
    if hidden:
        cases += [(*_random_graph(5, 25, 40, 0.1), 8, 3), (*_random_graph(6, 10, 12, 0.3), 4, 0)]
    for seed, (users, items, num_users, num_items, dim, num_layers) in enumerate(cases):
        torch.manual_seed(seed)
        model = models.LightGCN(num_users, num_items, embedding_dim=dim, num_layers=num_layers).double()
        a_hat = graph.normalized_bipartite_adjacency(users, items, num_users, num_items).to(torch.float64)
        layer0 = torch.cat(model.layer0_tables()).detach().clone()
        got = _dense(_call(embeddings_function, a_hat, layer0.clone(), num_layers), "lightgcn_embeddings")
        with torch.no_grad():
            expected = torch.cat(model.get_embedding(a_hat))
            layers = model.propagate(a_hat, layer0)
        if got.shape != expected.shape:
            raise AssertionError(f"the final embeddings have the shape of E^(0), {tuple(expected.shape)}, got {tuple(got.shape)}.")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        if torch.allclose(got, sum(layers), atol=1e-6):
            raise AssertionError(f"you summed the layers: LightGCN takes their mean, α_k = 1/(K+1) (here 1/{num_layers + 1}).")
        if torch.allclose(got, layers[-1], atol=1e-6):
            raise AssertionError("you returned the last layer E^(K) alone: LightGCN combines all layers, E^(0) included "
                                 "(the last alone over-smooths).")
        if num_layers and torch.allclose(got, sum(layers[1:]) / num_layers, atol=1e-6):
            raise AssertionError("you averaged E^(1) … E^(K) but left out E^(0): the mean runs over k = 0 … K.")
        raise AssertionError(f"with K = {num_layers} layers the final embeddings differ from the mean of Â^k E^(0), "
                             "k = 0 … K (utils' LightGCN.get_embedding).")


# 04 · Negatives, the BPR loss and one training step ------------------------------------------------------


@_check
def sample_negatives(sampler_function, hidden: bool = False) -> None:
    """``sample_negatives(users, rated, num_negatives, generator)``: a ``(len(users), num_negatives)``
    tensor of movies each user did not rate (``rated[u, i]`` is True when they did), uniform among those."""
    rng = np.random.default_rng(7)
    rated = torch.from_numpy(rng.random((6, 10)) < 0.6)
    rated[:, 0] = False  # every user has a movie to draw
    rated[0] = True
    rated[0, 9] = False  # user 0 rated all but movie 9
    cases = [(torch.tensor([0, 1, 2, 3, 4, 5, 0]), 4, 1)]
    if hidden:
        cases += [(torch.arange(6).repeat(500), 3, 2)]
    for users, num_negatives, seed in cases:
        generator = torch.Generator().manual_seed(seed)
        got = _call(sampler_function, users.clone(), rated.clone(), num_negatives, generator)
        got = torch.as_tensor(got)
        if got.shape != (len(users), num_negatives):
            raise AssertionError(f"expected shape (len(users), num_negatives) = {(len(users), num_negatives)}, got {tuple(got.shape)}.")
        if got.dtype.is_floating_point or got.dtype == torch.bool:
            raise AssertionError(f"negatives are movie indices (integers), got {got.dtype}.")
        if got.min() < 0 or got.max() >= rated.shape[1]:
            raise AssertionError(f"a negative must be a movie index in 0 … {rated.shape[1] - 1}, got {int(got.min())} … {int(got.max())}.")
        hits = rated[users[:, None], got]
        if hits.any():
            row = int(torch.nonzero(hits)[0, 0])
            raise AssertionError(f"user {int(users[row])} drew movie(s) they rated: {got[row][hits[row]].tolist()}. A negative must "
                                 "be re-drawn until it is a movie the user did not rate.")
        if (got[users == 0] != 9).any():
            raise AssertionError("user 0 rated every movie but 9, so all their negatives must be 9.")
        if len(users) > 100:  # the hidden case: uniform among the unrated, every unrated movie in about equal shares
            for user in range(1, 6):
                drawn = got[users == user].flatten()
                unrated = torch.nonzero(~rated[user]).flatten()
                counts = torch.bincount(drawn, minlength=rated.shape[1])[unrated].double()
                if (counts == 0).any():
                    raise AssertionError(f"user {user} never drew movie(s) {unrated[counts == 0].tolist()} in {len(drawn)} draws: "
                                         "negatives must be drawn at random among all the movies the user did not rate.")
                expected = len(drawn) / len(unrated)
                if (counts - expected).abs().max() > 6 * math.sqrt(expected) + 5:
                    raise AssertionError(f"user {user}'s draws are far from uniform over their unrated movies: counts "
                                         f"{counts.long().tolist()}, about {expected:.0f} each expected.")


@_check
def bpr_loss(loss_function, hidden: bool = False) -> None:
    """``bpr_loss(positive_scores, negative_scores)``: scores ``(B,)`` and ``(B, n)``; the mean over all
    ``B · n`` pairs of ``-ln σ(ŷ_ui - ŷ_uj)``."""
    positive = torch.tensor([3.0, 0.5, -1.0], dtype=torch.float64)
    negative = torch.tensor([[1.0, 2.0], [0.5, -0.5], [1.0, -3.0]], dtype=torch.float64)
    cases = [(positive, negative)]
    if hidden:
        generator = torch.Generator().manual_seed(8)
        cases += [(torch.randn(64, generator=generator, dtype=torch.float64), torch.randn(64, 5, generator=generator, dtype=torch.float64)),
                  (torch.tensor([100.0, -100.0]), torch.tensor([[-100.0], [100.0]]))]  # float32 scores far apart
    for positive, negative in cases:
        got = _call(loss_function, positive.clone(), negative.clone())
        got = torch.as_tensor(got).double()
        expected = losses.bpr_loss(positive[:, None].double(), negative.double())
        if got.dim() != 0:
            raise AssertionError(f"the loss is one number (a 0-d tensor), got shape {tuple(got.shape)}.")
        _finite(got, "your loss", "compute -ln σ(x) as softplus(-x), which never overflows.")
        if torch.isclose(got, expected, atol=1e-6):
            continue
        positive, negative = positive.double(), negative.double()
        first_only = losses.bpr_loss(positive, negative[:, 0])
        if torch.isclose(got, first_only, atol=1e-6):
            raise AssertionError("your loss uses only the first negative of each positive: average over all n of them.")
        if torch.isclose(got, expected * negative.numel(), atol=1e-6):
            raise AssertionError("your loss is the sum over the pairs: take the mean, so that it does not grow with the batch.")
        if torch.isclose(got, losses.bpr_loss(negative, positive[:, None]), atol=1e-6):
            raise AssertionError("positive and negative are swapped: the loss is small when the positive scores *higher*, "
                                 "-ln σ(ŷ_ui - ŷ_uj).")
        if torch.isclose(got, -expected, atol=1e-6):
            raise AssertionError("the sign is wrong: the loss is -ln σ(ŷ_ui - ŷ_uj), positive, to be minimised.")
        raise AssertionError(f"expected {expected.item():.6f} (the mean of -ln σ(ŷ_ui - ŷ_uj) over every pair), got {got.item():.6f}.")


def _step_setup(seed: int):
    users, items, num_users, num_items = _random_graph(seed, 12, 20, 0.2)
    a_hat = graph.normalized_bipartite_adjacency(users, items, num_users, num_items)
    torch.manual_seed(seed)
    model = models.LightGCN(num_users, num_items, embedding_dim=6, num_layers=2)
    generator = torch.Generator().manual_seed(seed)
    batch = torch.randperm(len(users), generator=generator)[:16]
    sampler = training.NegativeSampler(users, items, num_items)
    batch_users = torch.as_tensor(users)[batch]
    return model, a_hat, (batch_users, torch.as_tensor(items)[batch], sampler.sample(batch_users, generator)), (users, items)


@_check
def bpr_step(step_function, hidden: bool = False) -> None:
    """``bpr_step(model, optimizer, adjacency, users, positives, negatives, weight_decay)``: one Adam step
    on BPR + λ · L2 (on the batch's layer-0 rows); returns the loss before the step. Compared with
    utils' ``Trainer.step`` from the same start."""
    steps = 2 if hidden else 1
    for seed in ([11, 12] if hidden else [11]):
        model, a_hat, batch, (users, items) = _step_setup(seed)
        reference = models.LightGCN(model.num_users, model.num_items, embedding_dim=6, num_layers=2)
        reference.load_state_dict(model.state_dict())
        start = [table.detach().clone() for table in model.layer0_tables()]
        optimizer = torch.optim.Adam(model.parameters(), lr=0.05)
        config = training.TrainConfig(learning_rate=0.05, weight_decay=0.1, regularize="batch", cosine_decay=False)
        trainer = training.Trainer(reference, a_hat, users, items, config, device="cpu")
        for step in range(steps):
            got = _call(step_function, model, optimizer, a_hat, *batch, 0.1)
            got = got[0] if isinstance(got, (tuple, list)) else got
            with torch.no_grad():
                bpr_alone = reference.loss(a_hat, batch[0], batch[1], batch[2])[1]["bpr"].item()
                with_tables = bpr_alone + 0.1 * sum(table.pow(2).sum() for table in reference.layer0_tables()).item()
            expected = trainer.step(batch[0], batch[1], batch[2][:, None])[0]
            got = torch.as_tensor(got).detach().double()
            if got.dim() != 0:
                raise AssertionError(f"`bpr_step` returns the batch's loss, one number, got shape {tuple(got.shape)}.")
            moved = any(not torch.equal(a, b) for a, b in zip(start, model.layer0_tables()))
            if not moved:
                raise AssertionError("the model's embeddings did not change: call optimizer.step() after loss.backward().")
            if not torch.isclose(got, expected.double(), atol=1e-5):
                hint = (" That is BPR alone: add weight_decay times the L2 term." if abs(bpr_alone - got.item()) < 1e-5
                        else " That is an L2 term on the whole tables: take it on the batch's rows, over 2|B|."
                        if abs(with_tables - got.item()) < 1e-5 else "")
                raise AssertionError(f"step {step + 1}: the loss should be {expected.item():.6f} (BPR + λ · (1/2|B|) Σ ‖e^(0)‖² over "
                                     f"the batch's layer-0 rows), got {got.item():.6f}.{hint}")
            for mine, theirs in zip(model.layer0_tables(), reference.layer0_tables()):
                if not torch.allclose(mine, theirs, atol=1e-5):
                    raise AssertionError(f"after step {step + 1} the embeddings differ from utils' Trainer.step from the same start"
                                         + (": zero the gradients (optimizer.zero_grad()) before loss.backward(), or they add up "
                                            "across steps." if step else ": check the L2 term (the batch's rows, weight λ)."))


# 05 · The metrics, and folding in a new user -------------------------------------------------------------


def _ranking_case(seed: int, num_users: int, num_items: int, with_unseen: bool):
    rng = np.random.default_rng(seed)
    rated = rng.random((num_users, num_items)) < 0.3
    test = (rng.random((num_users, num_items)) < 0.25) & ~rated
    test[np.arange(num_users), rng.integers(0, num_items, num_users)] = True
    test &= ~rated
    test[:, 0] |= ~test.any(1)  # every user has a test movie
    rated[:, 0] &= ~test[:, 0]
    train_users, train_items = np.nonzero(rated)
    test_users, test_items = np.nonzero(test)
    if with_unseen:  # one test movie of user 0 never occurs in training
        test_users, test_items = np.append(test_users, 0), np.append(test_items, data.UNSEEN)
    scores = torch.from_numpy(rng.standard_normal((num_users, num_items)))
    evaluator = metrics.RankingEvaluator(train_users, train_items, test_users, test_items, num_users, num_items)
    test_lists = [test_items[test_users == u].tolist() for u in range(num_users)]
    return scores, torch.from_numpy(rated), evaluator, test_lists


@_check
def top_k_unseen(top_k_function, hidden: bool = False) -> None:
    """``top_k_unseen(scores, rated, k)``: for each user (row), the indices of the ``k`` highest-scoring
    movies they did not rate, best first."""
    cases = [(1, 5, 12, 4)]
    if hidden:
        cases += [(2, 30, 40, 10), (3, 4, 6, 1)]
    for seed, num_users, num_items, k in cases:
        scores, rated, evaluator, _ = _ranking_case(seed, num_users, num_items, False)
        scores = scores - 5.0 * (seed == 2)  # all negative: a mask of 0 would rank rated movies first
        got = torch.as_tensor(_call(top_k_function, scores.clone(), rated.clone(), k))
        expected = evaluator.top_k(lambda users, scores=scores: scores[users], torch.arange(num_users), k)
        if got.shape != expected.shape:
            raise AssertionError(f"expected shape (users, k) = {tuple(expected.shape)}, got {tuple(got.shape)}.")
        if torch.equal(got.long(), expected):
            continue
        if rated[torch.arange(num_users)[:, None], got.long()].any():
            raise AssertionError("your top-k holds movies the user rated in training: set their scores to -inf before "
                                 "taking the top k (0 is not low enough when scores can be negative).")
        if torch.equal(got.long().flip(1), expected):
            raise AssertionError("your top-k is in increasing order: the best movie comes first.")
        raise AssertionError(f"user 0's top-{k} should be {expected[0].tolist()}, got {got[0].tolist()}.")


def _metric_check(function, name: str, hidden: bool) -> None:
    cases = [(4, 6, 15, 5, True)]
    if hidden:
        cases += [(5, 40, 60, 10, True), (6, 8, 20, 1, False)]
    for seed, num_users, num_items, k, with_unseen in cases:
        scores, _, evaluator, test_lists = _ranking_case(seed, num_users, num_items, with_unseen)
        top = evaluator.top_k(lambda users, scores=scores: scores[users], torch.arange(num_users), k)
        got = torch.as_tensor(_call(function, top.clone(), [list(t) for t in test_lists]), dtype=torch.float64)
        result = evaluator.evaluate(lambda users, scores=scores: scores[users], ks=(k,), per_user=True)
        expected = torch.from_numpy(result[f"per_user_{name}@{k}"])
        if got.shape != expected.shape:
            raise AssertionError(f"return one value per user, shape {tuple(expected.shape)}, got {tuple(got.shape)}.")
        _finite(got, f"your {name}", "the discount is 1 / log2(r + 1), and log2(1) = 0 at rank 1." if name == "ndcg" else "look for a division by zero.")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        hits = torch.tensor([[movie in set(t) for movie in row.tolist()] for row, t in zip(top, test_lists)], dtype=torch.float64)
        sizes = torch.tensor([len(t) for t in test_lists], dtype=torch.float64)
        seen_sizes = torch.tensor([sum(m >= 0 for m in t) for t in test_lists], dtype=torch.float64)
        if name == "recall":
            if torch.allclose(got, hits.sum(1) / k):
                raise AssertionError("you divided by K: that is Precision@K. Recall@K divides by the user's number of test movies.")
            if torch.allclose(got, hits.sum(1) / sizes.clamp(max=k)):
                raise AssertionError("you divided by min(K, |T_u|): Recall@K here divides by |T_u|, all the user's test movies.")
            if with_unseen and torch.allclose(got, hits.sum(1) / seen_sizes):
                raise AssertionError("user 0 has a test movie that never occurs in training (-1): it still counts in |T_u| "
                                     "(a miss no model can avoid), it is not dropped.")
        else:
            discounts = 1 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))
            dcg = (hits * discounts).sum(1)
            if torch.allclose(got, dcg):
                raise AssertionError("that is DCG: divide by the ideal DCG, the DCG of a list with all min(K, |T_u|) hits on top.")
            if torch.allclose(got, dcg / discounts.sum()):
                raise AssertionError("your ideal DCG assumes K hits: a user with fewer test movies than K can have only "
                                     "|T_u| of them, so the ideal list has min(K, |T_u|) hits.")
        raise AssertionError(f"user 0's {name}@{k} should be {expected[0]:.4f}, got {got[0]:.4f} (top-{k} {top[0].tolist()}, "
                             f"test movies {test_lists[0]}).")


@_check
def recall_at_k(recall_function, hidden: bool = False) -> None:
    """``recall_at_k(top_k, test_items)``: per user, the share of their test movies in their top-k."""
    _metric_check(recall_function, "recall", hidden)


@_check
def ndcg_at_k(ndcg_function, hidden: bool = False) -> None:
    """``ndcg_at_k(top_k, test_items)``: per user, DCG of the top-k over the DCG of the ideal list."""
    _metric_check(ndcg_function, "ndcg", hidden)


@_check
def fold_in_user(fold_in_function, hidden: bool = False) -> None:
    """``fold_in_user(model, train_users, train_items, liked_items)``: the final embedding, ``(d,)``,
    of a new user linked to ``liked_items``, from a zero layer-0 embedding on the bigger graph."""
    cases = [(13, [2, 5])]
    if hidden:
        cases += [(14, [0, 1, 7, 19]), (15, [3])]
    for seed, liked in cases:
        users, items, num_users, num_items = _random_graph(seed, 12, 20, 0.2)
        torch.manual_seed(seed)
        model = models.LightGCN(num_users, num_items, embedding_dim=5, num_layers=3).double()
        got = _dense(_call(fold_in_function, model, users.copy(), items.copy(), list(liked)), "fold_in_user")
        augmented = graph.normalized_bipartite_adjacency(np.append(users, [num_users] * len(liked)), np.append(items, liked),
                                                         num_users + 1, num_items).to(torch.float64)  # fmt: skip
        with torch.no_grad():
            expected = model.fold_in(augmented, 1)[0][0]
        if got.shape != expected.shape:
            raise AssertionError(f"return the new user's final embedding, shape {tuple(expected.shape)}, got {tuple(got.shape)}.")
        if torch.allclose(got, expected, atol=1e-6):
            continue
        with torch.no_grad():
            item_table = model.layer0_tables()[1]
            start = torch.cat([model.layer0_tables()[0], item_table[liked].mean(0, keepdim=True), item_table])
            mean_start = model.combine(model.propagate(augmented, start))[num_users]
        if torch.allclose(got, mean_start, atol=1e-6):
            raise AssertionError("the new user starts from the mean of their movies' embeddings: it has no trained layer-0 "
                                 "embedding, so it starts from zeros and propagation alone places it.")
        raise AssertionError("the new user's embedding differs from propagating the bigger graph (the user as node U, "
                             "linked to the liked movies, a zero layer-0 row, the model's layer weights).")


# 07 · The filter response ----------------------------------------------------------------------------


@_check
def lightgcn_polynomial(polynomial_function, hidden: bool = False) -> None:
    """``lightgcn_polynomial(layer_weights)``: the coefficients ``c_m`` of ``h(λ) = Σ_m c_m λ^m``,
    ``c_m = Σ_{a + b = 2m + 1} α_a α_b``."""
    from utils.lab import filters  # the lab, imported by notebook 07 alone

    cases = [[0.25] * 4]
    if hidden:
        cases += [[0.0, 0.5, 0.5], [0.1, 0.2, 0.3, 0.15, 0.25], [1.0, 0.0], [0.5, 0.5]]
    for layer_weights in cases:
        got = np.asarray(_call(polynomial_function, list(layer_weights)), dtype=np.float64)
        expected = filters.lightgcn_polynomial(layer_weights)
        got_trimmed, expected_trimmed = np.trim_zeros(got, "b"), np.trim_zeros(expected, "b")
        if got_trimmed.shape == expected_trimmed.shape and np.allclose(got_trimmed, expected_trimmed):
            continue
        if len(got) and np.isclose(got.sum(), expected.sum() / 2):
            raise AssertionError("each pair (a, b) with a ≠ b counts twice, once as (a, b) and once as (b, a).")
        raise AssertionError(f"for α = {layer_weights} the coefficients are {np.round(expected, 4).tolist()}, got "
                             f"{np.round(got, 4).tolist()}: only pairs with odd a + b = 2m + 1 contribute, to c_m.")


#: Every check, by question name (the name a notebook's prompt cell gives its question).
QUESTIONS = {check.__name__: check for check in (index_ids, normalize, propagate_once, lightgcn_embeddings, sample_negatives,
                                                 bpr_loss, bpr_step, top_k_unseen, recall_at_k, ndcg_at_k, fold_in_user,
                                                 lightgcn_polynomial)}  # fmt: skip
