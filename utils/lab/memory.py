r"""How many bytes LightGCN's training and evaluation, and EASE, need: predicted, and measured.

:func:`predict` counts, for a dataset's users :math:`U`, movies :math:`I`, training ratings
:math:`R` and a recipe (embedding size :math:`d`, layers :math:`K`, batch :math:`B`, negatives per
positive :math:`n`), the bytes of each structure the code of this series allocates, with
:math:`N = U + I` graph nodes, :math:`E = 2R` stored non-zeros of :math:`\hat A` and :math:`s` bytes
per embedding value (4 for float32). Every formula was written from the code it names and checked
against torch's allocator (``tests/test_memory.py``); the totals are checked against the peak
resident memory measured by :func:`measure_peak`.

The counts, in bytes (CPU unless said otherwise):

=====================  ==========================================================================
``adjacency``          :math:`8(N+1) + 16E + sE` — CSR ``Â`` (utils.graph): ``crow_indices``
                       int64; ``col_indices`` int64 *a view of the 2×E COO index tensor it was
                       converted from*, so the COO's row indices stay alive too (16 bytes a
                       non-zero, not 8); ``values``. On a GPU the copy drops the view:
                       :math:`8(N+1) + 8E + sE`.
``adjacency_build``    :math:`100E` — peak while building ``Â`` (two COO ``coalesce`` sorts).
``pairs``              :math:`16R` — the Trainer's int64 (user, movie) tensors.
``embeddings``         :math:`Nds` — the layer-0 tables, the only parameters.
``gradients``          :math:`Nds`.
``adam``               :math:`2Nds + 8` — ``exp_avg``, ``exp_avg_sq``, one float32 ``step`` each.
``sampler``            :math:`UI` bytes (a bool per cell) when :math:`UI \le` ``dense_lookup_limit``,
                       else :math:`8R` (the sorted int64 keys :math:`uI + i`).
``epoch_samples``      :math:`8R(2 + n)` — one epoch's shuffled users, positives and negatives.
``sampling``           peak of :meth:`Trainer.sample_epoch`: :math:`24R + 16Rn` (permutation,
                       shuffled pairs, repeated users, drawn movies) plus the positive lookup:
                       :math:`18Rn` (dense table: keys, clamped keys, 3 bool masks) or
                       :math:`25Rn` (sorted keys: keys, search positions twice, gathered keys).
``propagation``        :math:`(K+4)Nds` — the :math:`K+1` layers kept for backward plus the running
                       sum, the product and the new sum of :math:`\sum_k \alpha_k E^{(k)}`.
``batch_scores``       dense CPU path (:math:`D \cdot I \le` ``dense_scores_limit``, :math:`D` distinct
                       users of a batch): :math:`Nds + DIs + Dds + 24B(1+n)`; else the gather path
                       :math:`Nds + 3B(1+n)ds + Bds`.
``optimizer_step``     :math:`2\max(U, I)ds` on the CPU (Adam's two temporaries for the larger
                       table); 0 for CUDA's fused Adam.
``step``               :math:`\max` of the three above: one step's activations and their gradients
                       (the backward pass, :math:`(K+2)Nds + Uds` beyond the state, stays below
                       the forward pass because the gradients of the last step are freed first).
``evaluator``          :math:`8R + 8T + 8(U+1) + 8U + 8\min(U, T)` — RankingEvaluator's CSR mask,
                       test keys (:math:`T` test ratings), test counts and test users.
``evaluator_build``    :math:`16(R + T) + 32R + 8T + 8U` — peak while building it (the copied
                       pairs, the keys and their sorted unique copy, per-user counts).
``eval_block``         :math:`bI(s + 4) + bds + 40bR/U` with :math:`b =` MAX_BLOCK_SCORES :math:`// I`
                       users: the model's scores, their float32 copy (then the NaN mask, 1 byte a
                       score), the users' rows and the block's training pairs being masked.
``item_item``          :math:`8I^2` — one movies × movies float64 matrix (EASE, the filters).
``ease_fit``           :math:`8UI + 32I^2` — ``ease_item_weights``: the dense float64 :math:`X`, and
                       at its peak :math:`X^\top X + \lambda I`, the inverse, its negation and
                       :math:`B`.
=====================  ==========================================================================

Totals: ``train_peak`` :math:`= \max(\text{adjacency\_build},\ \text{adjacency} + \text{pairs} +
\text{sampler} + 4Nds + \max(\text{sampling}, \text{epoch\_samples} + \text{step}))`;
``eval_peak`` :math:`= \max(\text{adjacency\_build},\ \text{adjacency} + Nds + \max(\text{evaluator\_build},
\text{evaluator} + \max(\text{propagation}, Nds + \text{eval\_block})))`; ``ease_peak`` :math:`= \text{ease\_fit} +
\text{evaluator}`. With ``device="cuda"`` the totals count the GPU's bytes only (``Â``, tables,
Adam, the epoch's samples, activations, score blocks); pairs, sampler and evaluator stay on the host.

What is left out: Python objects, the caller's own data frames, the one-off construction of the
Trainer's sampler (below the first epoch's sampling), CUDA's caching-allocator rounding and
workspaces, and LAPACK's work arrays.

The formulas are LightGCN's (the ``lightgcn`` recipes: default, mf, lightgcn-K, wide, original);
models with more parameters or terms (NGCF's weights, SimGCL's views) need more.

``python -m utils.lab.memory`` prints :func:`dataset_table` for the MovieLens sizes and the most ratings
each budget holds; ``--check`` also measures three small sizes (``--device cuda`` on a GPU).
"""

from __future__ import annotations

import gc
import math
import os
import pickle
import subprocess
import sys
from collections.abc import Callable, Mapping, Sequence

import numpy as np
import torch

from utils import losses, metrics, training
from utils.recipes import DEFAULT_RECIPE, Recipe
from utils.training import TrainConfig

try:
    import resource  # POSIX only: the peak resident set where /proc is missing (macOS, the BSDs)
except ImportError:  # Windows: peak_rss_bytes returns None and measuring the resident set says why
    resource = None

#: Memory budgets of the table: a laptop's RAM, two GPUs. Decimal gigabytes, as ``nvidia-smi`` rounds.
BUDGETS = {"RAM 24 GB": 24 * 10**9, "GPU 16 GB": 16 * 10**9, "GPU 80 GB": 80 * 10**9}
#: The test share of the random split of the larger MovieLens datasets (utils.datasets).
TEST_SHARE = 0.2
#: ``malloc`` serves allocations above this from fresh pages it returns at ``free`` (see measure_peak).
MMAP_THRESHOLD = 256 * 1024


def _recipe_dims(recipe: Recipe | TrainConfig | Mapping | None) -> dict:
    """``embedding_dim``, ``num_layers``, ``batch_size``, ``negatives_per_positive``, ``exclude_positives``."""
    recipe = DEFAULT_RECIPE if recipe is None else recipe
    if isinstance(recipe, Recipe):
        args, config = recipe.model_args, recipe.config
    elif isinstance(recipe, TrainConfig):
        args, config = DEFAULT_RECIPE.model_args, recipe
    else:  # a mapping of any of the names below
        args, config = {**DEFAULT_RECIPE.model_args, **recipe}, DEFAULT_RECIPE.config.replace(
            **{k: v for k, v in recipe.items() if k in ("batch_size", "negatives_per_positive", "exclude_positives")}
        )
    return {
        "embedding_dim": int(args.get("embedding_dim", 64)),
        "num_layers": int(args.get("num_layers", 3)),
        "batch_size": config.batch_size,
        "negatives_per_positive": config.negatives_per_positive,
        "exclude_positives": config.exclude_positives,
    }


def expected_distinct(population: int, draws: int) -> float:
    """Expected distinct values among ``draws`` uniform draws from ``population`` (an upper bound
    for long-tailed draws, which repeat heavy users more often)."""
    if population <= 0 or draws <= 0:
        return 0.0
    return population * -math.expm1(draws * math.log1p(-1.0 / population)) if population > 1 else 1.0


def predict(
    num_users: int,
    num_items: int,
    num_ratings: int,
    recipe: Recipe | TrainConfig | Mapping | None = None,
    *,
    num_test_ratings: int = 0,
    dtype: torch.dtype = torch.float32,
    device: str = "cpu",
    dense_lookup_limit: int = training.DENSE_LOOKUP_LIMIT,
    dense_scores_limit: int = losses.DENSE_SCORES_LIMIT,
) -> dict[str, int]:
    """Predicted bytes of each part, and the peaks ``train_peak``, ``eval_peak``, ``ease_peak``.

    Args:
        num_users, num_items: ``U`` and ``I``.
        num_ratings: ``R``, the distinct training (user, movie) pairs.
        recipe: a :class:`utils.recipes.Recipe` (default: the default recipe), a :class:`TrainConfig`
            (with the default model), or a mapping overriding ``embedding_dim``, ``num_layers``,
            ``batch_size``, ``negatives_per_positive``, ``exclude_positives``.
        num_test_ratings: ``T``, the test pairs the evaluator holds.
        dtype: the embeddings' dtype (``Â``'s values must share it).
        device: ``"cpu"`` or ``"cuda"``: where training and scoring run; with ``"cuda"`` the totals
            count the GPU's memory only.
        dense_lookup_limit, dense_scores_limit: the limits the run's :class:`~utils.training.NegativeSampler`
            and :func:`~utils.losses.batch_scores` are given (their defaults by default).

    The formulas are in this module's docstring.
    """
    U, I, R, T = int(num_users), int(num_items), int(num_ratings), int(num_test_ratings)
    dims = _recipe_dims(recipe)
    d, K, n = dims["embedding_dim"], dims["num_layers"], dims["negatives_per_positive"]
    B = min(dims["batch_size"] or R, R)
    s = torch.empty((), dtype=dtype).element_size()
    on_gpu = torch.device(device).type == "cuda"
    N, E = U + I, 2 * R
    table = N * d * s

    parts: dict[str, int] = {}
    parts["adjacency"] = 8 * (N + 1) + (8 if on_gpu else 16) * E + s * E
    parts["adjacency_build"] = 100 * E
    parts["pairs"] = 16 * R
    parts["embeddings"] = table
    parts["gradients"] = table
    parts["adam"] = 2 * table + 4 * 2  # + one float32 `step` tensor per parameter
    dense_lookup = 0 < U * I <= dense_lookup_limit
    parts["sampler"] = U * I if dense_lookup else 8 * R
    parts["epoch_samples"] = 8 * R * (2 + n)
    lookup = (18 if dense_lookup else 25) * R * n if dims["exclude_positives"] else 0
    parts["sampling"] = 24 * R + 16 * R * n + lookup
    parts["propagation"] = (K + 1 + (2 if K == 0 else 3)) * table
    distinct = min(expected_distinct(U, B), B, U)
    if not on_gpu and distinct * I <= dense_scores_limit:
        parts["batch_scores"] = int(table + distinct * I * s + distinct * d * s + 24 * B * (1 + n))
    else:
        parts["batch_scores"] = table + 3 * B * (1 + n) * d * s + B * d * s
    parts["optimizer_step"] = 0 if on_gpu else 2 * max(U, I) * d * s
    parts["step"] = max(parts["propagation"], parts["batch_scores"], parts["optimizer_step"])
    parts["evaluator"] = 8 * R + 8 * T + 8 * (U + 1) + 8 * U + 8 * min(U, T)
    parts["evaluator_build"] = 16 * (R + T) + 32 * R + 8 * T + 8 * U
    block = max(1, min(metrics.MAX_BLOCK_SCORES // max(I, 1), U))
    parts["eval_block"] = int(block * I * (s + 4) + block * d * s + 40 * block * R / max(U, 1))
    parts["item_item"] = 8 * I * I
    parts["ease_fit"] = 8 * U * I + 32 * I * I

    state = parts["adjacency"] + parts["embeddings"] + parts["gradients"] + parts["adam"]
    scoring = max(parts["propagation"], table + parts["eval_block"])
    if on_gpu:
        parts["train_peak"] = state + parts["epoch_samples"] + parts["step"]
        parts["eval_peak"] = parts["adjacency"] + table + scoring
        parts["ease_peak"] = parts["ease_fit"]
    else:
        host = state + parts["pairs"] + parts["sampler"]
        parts["train_peak"] = max(parts["adjacency_build"], host + max(parts["sampling"], parts["epoch_samples"] + parts["step"]))
        parts["eval_peak"] = max(parts["adjacency_build"],
                                 parts["adjacency"] + table + max(parts["evaluator_build"], parts["evaluator"] + scoring))
        parts["ease_peak"] = parts["ease_fit"] + parts["evaluator"]
    return {name: int(value) for name, value in parts.items()}


# ---------------------------------------------------------------------------------------------
# Measuring
# ---------------------------------------------------------------------------------------------


def _status_kib(field: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return None


def _reset_peak_rss() -> bool:
    """Reset the kernel's peak-RSS counter (VmHWM) to the current RSS (Linux ≥ 4.0)."""
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


def _rss_bytes() -> int:
    kib = _status_kib("VmRSS")
    return 1024 * kib if kib is not None else 0


def peak_rss_bytes() -> int | None:
    """This process's peak resident set in bytes, or None where the platform does not report it.

    Linux: ``VmHWM`` of ``/proc/self/status`` (which :func:`measure_here` can reset); other POSIX
    systems: ``getrusage``'s ``ru_maxrss`` (the peak since the process started); Windows, which has
    neither: None.
    """
    kib = _status_kib("VmHWM")
    if kib is not None:
        return 1024 * kib
    if resource is None:
        return None
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else 1024 * peak


def _require_peak_rss() -> None:
    if peak_rss_bytes() is None:
        raise RuntimeError(
            f"this platform ({sys.platform}) reports no peak resident memory (no /proc/self/status, no "
            "`resource` module), so method='rss' cannot measure. Use method='torch' (torch's CPU allocator "
            "alone) or run on Linux or macOS (on Windows: WSL)."
        )


def _torch_peak(fn: Callable, args, kwargs) -> int:
    """Peak of torch's CPU allocator during ``fn``: the running sum of the profiler's memory events."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as profiler:
        fn(*args, **kwargs)
    events = sorted((event.start_ns(), event.nbytes()) for event in profiler.profiler.kineto_results.events()
                    if event.name() == "[memory]")  # fmt: skip
    current = peak = 0
    for _, change in events:
        current += change
        peak = max(peak, current)
    return peak


def measure_here(fn: Callable, args, kwargs, warm_up, method: str) -> int:
    """In the measuring process: warm up, take the baseline, run ``fn``, return its peak above it.

    ``method="rss"`` raises RuntimeError where the platform reports no peak resident set (:func:`peak_rss_bytes`).
    """
    if method == "rss":
        _require_peak_rss()
    if warm_up is not None:
        fn(*warm_up, **kwargs)
    gc.collect()
    if method == "torch":
        return _torch_peak(fn, args, kwargs)
    baseline = _rss_bytes()
    if not _reset_peak_rss():
        baseline = max(baseline, peak_rss_bytes())  # VmHWM cannot go down: measure above it
    fn(*args, **kwargs)
    return max(0, peak_rss_bytes() - baseline)


def _serve() -> None:
    """The measuring process: a pickled job on stdin, its pickled result on stdout."""
    result_fd = os.dup(1)
    os.dup2(2, 1)  # whatever fn prints goes to stderr, not into the result
    job = pickle.load(sys.stdin.buffer)  # noqa: S301 - the parent process pickled it
    try:
        result = ("ok", measure_here(*job))
    except BaseException as error:  # noqa: BLE001 - handed to the parent, which raises it
        result = ("error", f"{type(error).__name__}: {error}")
    with os.fdopen(result_fd, "wb") as out:
        pickle.dump(result, out)


def measure_peak(fn: Callable, *args, warm_up: Sequence | None = None, method: str = "rss", timeout: float = 600, **kwargs) -> int:
    """Measured peak bytes of ``fn(*args, **kwargs)`` on the CPU, above what was resident before it.

    torch's CPU tensors come from ``malloc``, which ``tracemalloc`` does not see, so:

    * ``method="rss"`` (default): the peak resident set. ``fn`` runs in a fresh Python process (a
      subprocess of this interpreter), so nothing earlier in this one (other tests, a notebook's
      data, freed memory ``malloc`` kept) is counted or reused. The child unpickles ``args`` (the
      caller's data, counted in the baseline as the caller's), runs ``fn(*warm_up)`` if given (a tiny
      call of the same code: libraries page their code in and set up thread pools, a few MB that
      would otherwise land in the measurement), collects garbage, reads its RSS, resets the kernel's
      peak counter (``/proc/self/clear_refs``; where that is refused it measures above the peak so
      far), runs ``fn`` and returns ``VmHWM − baseline``. Its ``malloc`` gets a fixed
      ``MALLOC_MMAP_THRESHOLD_`` (256 KiB): glibc otherwise raises the threshold after each large
      free, so that later large tensors come from the heap, whose freed pages stay resident, and the
      peak would depend on the order of allocations rather than on what is alive. It counts
      everything: Python objects, numpy, MKL's workspaces, page rounding. Both precautions matter:
      training on 50K ratings measured 110 MB without the warm-up against 17.6 MB with it, and with
      glibc's default ``malloc`` 138 MB (200K ratings) and 453 MB (500K) against 92 and 233 MB, for
      92 and 231 MB predicted.
    * ``method="torch"``: the peak of torch's CPU allocator alone (the profiler's memory events,
      ``profile_memory=True``, summed in time order): exact for tensors, blind to everything else.

    ``fn`` must be importable by the child (a module-level function of an importable module, not of
    ``__main__``), and ``args`` picklable. Where the platform reports no peak resident set
    (Windows: :func:`peak_rss_bytes` is None), ``method="rss"`` raises RuntimeError before starting
    the child; ``method="torch"`` works everywhere.
    """
    if method not in ("rss", "torch"):
        raise ValueError(f"method must be 'rss' or 'torch', got {method!r}.")
    if method == "rss":
        _require_peak_rss()
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(MMAP_THRESHOLD),
                   "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}  # fmt: skip
    job = pickle.dumps((fn, args, kwargs, warm_up, method))
    try:
        done = subprocess.run([sys.executable, "-c", "from utils.lab.memory import _serve; _serve()"], input=job,  # noqa: S603
                              capture_output=True, timeout=timeout, env=environment, check=False)  # fmt: skip
    except subprocess.TimeoutExpired:
        raise TimeoutError(f"measuring {getattr(fn, '__name__', fn)} took over {timeout} s.") from None
    try:
        status, value = pickle.loads(done.stdout)  # noqa: S301 - our own child's answer
    except Exception:  # noqa: BLE001
        status, value = "error", f"the measuring process exited with {done.returncode}: {done.stderr.decode(errors='replace')[-2000:]}"
    if status != "ok":
        raise RuntimeError(f"measuring {getattr(fn, '__name__', fn)} failed: {value}")
    return int(value)


# ---------------------------------------------------------------------------------------------
# Workloads to measure
# ---------------------------------------------------------------------------------------------


def long_tailed_pairs(num_users: int, num_items: int, num_ratings: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``num_ratings`` distinct (user, movie) int64 pairs in random order, long-tailed on both sides
    (log-normal user activity and movie popularity, as in :mod:`utils.datasets.synthetic`); every user and
    movie index below the given counts may occur, the last user always does."""
    if num_ratings > num_users * num_items // 2:
        raise ValueError("ask for at most half of all (user, movie) cells.")
    rng = np.random.default_rng(seed)
    user_weights = rng.lognormal(0.0, 1.1, num_users)
    item_weights = rng.lognormal(0.0, 1.2, num_items)
    user_weights, item_weights = user_weights / user_weights.sum(), item_weights / item_weights.sum()
    keys = np.array([num_users * num_items - 1], dtype=np.int64)  # the last user rates the last movie
    while len(keys) < num_ratings:
        draws = int(1.3 * (num_ratings - len(keys))) + 16
        new = rng.choice(num_users, draws, p=user_weights).astype(np.int64) * num_items + rng.choice(num_items, draws, p=item_weights)
        keys = np.union1d(keys, new)
    keys = np.concatenate([keys[-1:], rng.permutation(keys[:-1])[: num_ratings - 1]])
    keys = keys[rng.permutation(num_ratings)]
    return keys // num_items, keys % num_items


def run_training(users, items, num_users: int, num_items: int, recipe: Recipe | None = None, steps: int = 3,
                 device: str = "cpu") -> None:  # fmt: skip
    """What a training run allocates: ``Â``, the model, a Trainer, one epoch's samples and ``steps`` steps."""
    from utils.graph import normalized_bipartite_adjacency
    from utils.training import Trainer

    recipe = DEFAULT_RECIPE if recipe is None else recipe
    adjacency = normalized_bipartite_adjacency(users, items, num_users, num_items)
    trainer = Trainer(recipe.build_model(num_users, num_items), adjacency, users, items, recipe.config, device=device)
    batch_users, positives, negatives = trainer.sample_epoch()
    for start in list(trainer.batch_starts)[:steps]:
        batch = slice(start, start + trainer.batch_size)
        trainer.step(batch_users[batch], positives[batch], negatives[batch])


def run_evaluation(users, items, test_users, test_items, num_users: int, num_items: int, recipe: Recipe | None = None,
                   device: str = "cpu") -> None:  # fmt: skip
    """What scoring allocates: ``Â``, a (fresh) model, the evaluator and one full ranking of every test user."""
    from utils.graph import normalized_bipartite_adjacency
    from utils.metrics import RankingEvaluator

    recipe = DEFAULT_RECIPE if recipe is None else recipe
    adjacency = normalized_bipartite_adjacency(users, items, num_users, num_items).to(device)
    model = recipe.build_model(num_users, num_items).to(device)
    evaluator = RankingEvaluator(users, items, test_users, test_items, num_users, num_items)
    with torch.no_grad():
        evaluator.evaluate(model.scorer(adjacency), ks=(10,))


def measure_cuda_peak(fn: Callable, *args, **kwargs) -> int:
    """Peak bytes torch's CUDA allocator handed out during ``fn(*args, **kwargs)``, above those
    allocated before (``torch.cuda.max_memory_allocated``; the cache's reserved extra not counted)."""
    torch.cuda.synchronize()
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    baseline = torch.cuda.memory_allocated()
    fn(*args, **kwargs)
    torch.cuda.synchronize()
    return torch.cuda.max_memory_allocated() - baseline


#: Sizes of the check against measurement (tests/test_memory.py; ``python -m utils.lab.memory --check``).
CHECK_SIZES = ((1000, 1500, 50_000), (3000, 8000, 200_000), (60_000, 2000, 500_000))


def check(sizes: Sequence[Sequence[int]] = CHECK_SIZES, device: str = "cpu") -> list[dict]:
    """Predicted and measured training and evaluation peaks (MB) on long-tailed pairs of ``sizes``:
    peak RSS in a fresh process on the CPU, ``max_memory_allocated`` on CUDA (in this process)."""
    rows = []
    warm_up = (*long_tailed_pairs(50, 60, 500), 50, 60)
    for users_count, items_count, ratings in sizes:
        users, items = long_tailed_pairs(users_count, items_count, ratings)
        test = ratings // 5
        split = (users[test:], items[test:], users[:test], items[:test], users_count, items_count)
        if torch.device(device).type == "cuda":
            measured_train = measure_cuda_peak(run_training, users, items, users_count, items_count, device=device)
            measured_eval = measure_cuda_peak(run_evaluation, *split, device=device)
        else:
            measured_train = measure_peak(run_training, users, items, users_count, items_count, warm_up=warm_up)
            measured_eval = measure_peak(run_evaluation, *split, warm_up=(*warm_up[:2], *warm_up))
        train = predict(users_count, items_count, ratings, device=device)["train_peak"]
        evaluation = predict(users_count, items_count, ratings - test, num_test_ratings=test, device=device)["eval_peak"]
        rows.append({"users": users_count, "movies": items_count, "ratings": ratings, "device": device,
                     "train_predicted_mb": round(train / 1e6, 1), "train_measured_mb": round(measured_train / 1e6, 1),
                     "eval_predicted_mb": round(evaluation / 1e6, 1), "eval_measured_mb": round(measured_eval / 1e6, 1)})  # fmt: skip
    return rows


def largest_ratings(shape: Sequence[int], budget: float, peak: str = "train_peak", recipe: Recipe | None = None,
                    device: str = "cpu", test_share: float = TEST_SHARE) -> int:  # fmt: skip
    """The most ratings whose predicted ``peak`` fits ``budget``, scaling ``shape``'s users, movies
    and ratings together (ratings per user and per movie kept)."""
    users, items, ratings = shape

    def fits(scale: float) -> bool:
        total = max(1, int(ratings * scale))
        test = int(round(total * test_share))
        sizes = (max(1, int(users * scale)), max(1, int(items * scale)), total - test)
        return predict(*sizes, recipe, num_test_ratings=test, device=device)[peak] <= budget

    low, high = 0.0, 1.0
    while fits(high) and high < 1e6:
        low, high = high, 2 * high
    for _ in range(50):
        middle = (low + high) / 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return int(ratings * low)


# ---------------------------------------------------------------------------------------------
# The table
# ---------------------------------------------------------------------------------------------


def dataset_table(shapes: Mapping[str, Sequence[int]] | None = None, budgets: Mapping[str, int] | None = None,
                  recipe: Recipe | None = None, test_share: float = TEST_SHARE):  # fmt: skip
    """One row per dataset: its sizes, each part's predicted bytes, and for each method (LightGCN
    training, LightGCN evaluation, EASE) and budget whether it fits.

    ``shapes`` maps a name to ``(users, movies, ratings)`` (default: :data:`utils.datasets.synthetic.SHAPES`,
    the MovieLens sizes); the ratings are split ``1 − test_share`` / ``test_share`` into training and
    test pairs. A budget whose name starts with ``GPU`` is compared with the GPU's bytes
    (``predict(..., device="cuda")``); EASE's tensors on a GPU would be the same as on the CPU.
    """
    import pandas as pd

    if shapes is None:
        from utils.datasets.synthetic import SHAPES

        shapes = {name: shape for name, shape in SHAPES.items() if name != "ml-latest-small"}
    budgets = BUDGETS if budgets is None else budgets
    rows = []
    for name, (users, items, ratings) in shapes.items():
        test = int(round(ratings * test_share))
        cpu = predict(users, items, ratings - test, recipe, num_test_ratings=test)
        gpu = predict(users, items, ratings - test, recipe, num_test_ratings=test, device="cuda")
        row = {"dataset": name, "users": users, "movies": items, "ratings": ratings, **cpu,
               "train_peak_gpu": gpu["train_peak"], "eval_peak_gpu": gpu["eval_peak"]}  # fmt: skip
        for budget, limit in budgets.items():
            on_gpu = budget.upper().startswith("GPU")
            row[f"training fits {budget}"] = (gpu if on_gpu else cpu)["train_peak"] <= limit
            row[f"evaluation fits {budget}"] = (gpu if on_gpu else cpu)["eval_peak"] <= limit
            row[f"EASE fits {budget}"] = cpu["ease_fit" if on_gpu else "ease_peak"] <= limit
        rows.append(row)
    return pd.DataFrame(rows).set_index("dataset")


def largest_fitting(table) -> dict[str, str]:
    """For each ``"<method> fits <budget>"`` column, the largest dataset (most ratings) that fits."""
    out = {}
    for column in (c for c in table.columns if " fits " in c):
        fitting = table[table[column]]
        out[column] = str(fitting["ratings"].idxmax()) if len(fitting) else "none"
    return out


def _gb(value: int) -> str:
    return f"{value / 1e9:.2f}" if value < 10**11 else f"{value / 1e9:.0f}"


def format_table(table) -> str:
    """The table as text: GB per part, then ✓/✗ per method and budget, then the largest fitting size."""
    parts = ["adjacency", "adjacency_build", "pairs", "embeddings", "adam", "sampler", "epoch_samples", "sampling",
             "step", "evaluator", "eval_block", "item_item", "ease_fit", "train_peak", "eval_peak", "train_peak_gpu",
             "eval_peak_gpu", "ease_peak"]  # fmt: skip
    sizes = table[parts].T.map(_gb) if hasattr(table, "map") else table[parts].T.applymap(_gb)
    fits = table[[c for c in table.columns if " fits " in c]].T.replace({True: "yes", False: "no"})
    largest = "\n".join(f"  {column:32s} {name}" for column, name in largest_fitting(table).items())
    return (f"Predicted bytes (GB = 1e9 bytes), default recipe, {1 - TEST_SHARE:.0%} of the ratings for training:\n"
            f"{sizes.to_string()}\n\nFits?\n{fits.to_string()}\n\nLargest MovieLens that fits:\n{largest}")  # fmt: skip


def main(argv=None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="Predicted memory of LightGCN and EASE on the MovieLens sizes.")
    parser.add_argument("--check", action="store_true", help="also measure the peaks on small synthetic sizes")
    parser.add_argument("--device", default="cpu", help="where --check runs (cpu or cuda)")
    args = parser.parse_args(argv)
    print(format_table(dataset_table()))
    from utils.datasets.synthetic import SHAPES

    print("\nAt ML-32M's proportions (users, movies and ratings scaled together), the most ratings that fit:")
    for budget, limit in BUDGETS.items():
        device = "cuda" if budget.upper().startswith("GPU") else "cpu"
        found = {peak: largest_ratings(SHAPES["ml-32m"], limit, peak, device=device) for peak in ("train_peak", "eval_peak")}
        found["ease_peak"] = largest_ratings(SHAPES["ml-32m"], limit, "ease_fit" if device == "cuda" else "ease_peak")
        print(f"  {budget:10s} " + "  ".join(f"{name.removesuffix('_peak')} {value / 1e6:,.0f}M" for name, value in found.items()))
    if args.check:
        import json

        for row in check(device=args.device):
            print(json.dumps(row))


if __name__ == "__main__":
    main()
