r"""Training benchmark: our LightGCN recipes against each other and against PyG's LightGCN example.

``make bench`` (or ``python -m utils.bench``) trains, in one run and on one device:

* ``original``: :data:`utils.training.ORIGINAL_RECIPE`, the recipe of the tutorial this series grew
  from (full-batch epochs at a small learning rate);
* ``default``: :data:`utils.training.DEFAULT_RECIPE`, ours (mini-batches, a larger learning rate);
* ``pyg``: ``torch_geometric.nn.models.LightGCN`` trained step for step as PyG's own example
  ``examples/lightgcn.py`` trains it (see :data:`PYG_EXAMPLE`), with its own loss and sampling;
* ``mf`` and ``ngcf``: notebook 06's MF-BPR (LightGCN with 0 layers) and NGCF-style model, trained
  exactly like ``default``;
* ``popular`` and ``ease``: the closed-form baselines (EASE's λ chosen on the validation split;
  ``train_seconds`` is the time to fit them, ``epochs`` is 0).

Every model trains on ``ua.base`` and is scored on ``ua.test`` by the same
:class:`~utils.metrics.RankingEvaluator` (full ranking over every movie, each user's training movies
masked), from its final user and movie embeddings.

Output (stdout; progress goes to stderr), one JSON object a line:

* one line per model: ``recipe``, ``device``, ``epochs``, ``train_seconds`` (training only,
  evaluation excluded), ``seconds_per_epoch``, the final ``recall@10``, ``ndcg@10``,
  ``precision@10``, ``hit@10``, ``torch`` (its version), ``threads`` (torch's CPU threads), and
  ``curve``: ``[train_seconds, recall@10]`` pairs measured every few epochs during training;
  with ``--count-launches``, also ``per_step``: what one training step calls (see
  :func:`count_per_step`), profiled after the timed training;
* a last line ``{"ratios": {peer: {...}}}`` comparing ours (``default``) to each other model measured:

  - ``recall@10_ratio``, ``ndcg@10_ratio``: ours divided by the peer's (above 1: ours ranks better);
  - ``seconds_to_same_recall``: training seconds ours needed to first reach the peer's final
    Recall@10, read off our curve (``null``: never reached);
  - ``speedup_to_same_recall``: the peer's ``train_seconds`` divided by that (above 1: ours gets
    there faster; ``null`` when ours never gets there);
  - ``recall_at_equal_time``: ``{"seconds": the peer's train_seconds, "ours": our Recall@10 at the
    last curve point within those seconds (null if none), "peer": the peer's final Recall@10}``.

Seconds are wall-clock on the device named in each line: compare runs only on the same machine.
The curve of a model is only as fine as its evaluation interval (``--eval-every``), so the two
time-based comparisons are conservative by up to one interval.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from utils.ablations import comparison_recipes
from utils.baselines import choose_ease_regularization, ease_scores
from utils.data import DatasetError, MovieLens, load_movielens
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator, embedding_scores, popularity_scores
from utils.training import (
    DEFAULT_RECIPE,
    ORIGINAL_RECIPE,
    NegativeSampler,
    Recipe,
    make_optimizer,
    pick_device,
    ranking_monitor,
    train_lightgcn,
    training_step,
)

K = 10
RECALL, NDCG, PRECISION, HIT = (f"{name}@{K}" for name in ("recall", "ndcg", "precision", "hit"))
REPORTED_METRICS = (RECALL, NDCG, PRECISION, HIT)

#: The recipe the others are compared with in the ratios line.
OURS = "default"
_COMPARISON = comparison_recipes()
OUR_RECIPES: dict[str, Recipe] = {
    "original": ORIGINAL_RECIPE,
    "default": DEFAULT_RECIPE,
    "mf": _COMPARISON["MF-BPR (0 layers)"],  # notebook 06's comparison models, same training as default
    "ngcf": _COMPARISON["NGCF-style (W + LeakyReLU)"],
}
CLOSED_FORM = ("popular", "ease")  # no training loop: fitted once, scored once
ALL_RECIPES = ("original", "default", "pyg", "mf", "ngcf", *CLOSED_FORM)

PYG_INSTALL_HINT = (
    "the 'pyg' recipe needs PyTorch Geometric, which is not installed.\n"
    "Fix: pip install -r requirements-bench.txt (`make bench` does it), "
    "or leave PyG out: --recipes original,default"
)


@dataclass(frozen=True)
class PygExampleRecipe:
    """How PyG's ``examples/lightgcn.py`` trains its LightGCN (Amazon-Book there, ML-100K here).

    ``LightGCN(num_nodes, embedding_dim=64, num_layers=2)`` (Xavier-uniform initialisation), Adam at
    lr 1e-3, batches of 8192 training edges shuffled by a ``DataLoader``, one uniformly random
    movie per edge as the negative (a movie the user rated may be drawn), and
    ``model.recommendation_loss(pos, neg, node_id=edge_label_index.unique())``: mean BPR plus
    ``lambda_reg = 1e-4`` times the squared norm of the layer-0 rows of the batch's distinct nodes,
    divided by the batch size.
    """

    embedding_dim: int = 64
    num_layers: int = 2
    batch_size: int = 8192
    learning_rate: float = 1e-3
    lambda_reg: float = 1e-4
    # The example's own count. On the 2-core CPU a PyG epoch takes ~2.9 s (measured 2026-11-27), so
    # 100 epochs keep the whole bench under 10 minutes; `--epochs-pyg 400` runs longer (README).
    epochs: int = 100
    # Not PyG's (the example evaluates every epoch): evaluation is sparse here to keep the bench short.
    eval_every: int = 25
    seed: int = 0


PYG_EXAMPLE = PygExampleRecipe()

#: (epochs, evaluation interval) of each model when no option changes them.
DEFAULT_SCHEDULES = {
    **{name: (recipe.config.epochs, recipe.config.eval_every) for name, recipe in OUR_RECIPES.items() if name in ("original", "default")},
    "pyg": (PYG_EXAMPLE.epochs, PYG_EXAMPLE.eval_every),
}

#: Epochs and evaluation interval of ``--quick``: a smoke test of the whole pipeline, not a measurement.
QUICK_EPOCHS = {"original": 4, "default": 2, "pyg": 2, "mf": 2, "ngcf": 2, "popular": 0, "ease": 0}
QUICK_EVAL_EVERY = 1


@dataclass
class BenchResult:
    """What one model measured: its final metrics, its training time and its recall-over-time curve."""

    recipe: str
    device: str
    epochs: int
    train_seconds: float
    metrics: dict[str, float]
    curve: list[tuple[float, float]]
    extra: dict = dataclasses.field(default_factory=dict)

    @property
    def recall(self) -> float:
        return self.metrics[RECALL]

    def to_json(self) -> dict:
        """The JSON line of this model (values rounded for reading; ratios use the exact values)."""
        return {
            "recipe": self.recipe,
            "device": self.device,
            "epochs": self.epochs,
            "train_seconds": round(self.train_seconds, 3),
            "seconds_per_epoch": round(self.train_seconds / max(self.epochs, 1), 4),
            **{name: round(self.metrics[name], 6) for name in REPORTED_METRICS},
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            **self.extra,
            "curve": [[round(seconds, 3), round(recall, 6)] for seconds, recall in self.curve],
        }


# ---------------------------------------------------------------------------------------------
# Scoring: one function for every model, so all are measured alike
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def score_embeddings(evaluator: RankingEvaluator, user_embeddings: torch.Tensor, item_embeddings: torch.Tensor) -> dict:
    """Recall, NDCG, precision, hit rate and MAP at K of dot-product scores on the test split."""
    return evaluator.evaluate(embedding_scores(user_embeddings, item_embeddings), ks=(K,))


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read after it measures the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


# ---------------------------------------------------------------------------------------------
# Our recipes
# ---------------------------------------------------------------------------------------------


def run_our_recipe(
    recipe: Recipe,
    dataset: MovieLens,
    evaluator: RankingEvaluator,
    device: torch.device,
    epochs: int | None = None,
    eval_every: int | None = None,
) -> BenchResult:
    """Train one of our recipes with :func:`~utils.training.train_lightgcn` and score it."""
    config = dataclasses.replace(
        recipe.config,
        epochs=epochs or recipe.config.epochs,
        eval_every=eval_every or recipe.config.eval_every,
    )
    users, items = dataset.train_pairs()
    # On the device already, so that evaluating does not copy the matrix there every time.
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items).to(device)
    model = recipe.build_model(dataset.num_users, dataset.num_items)
    # The same evaluator.evaluate(embedding_scores(...)) as score_embeddings, which scores PyG's model.
    evaluate = ranking_monitor(evaluator, adjacency, ks=(K,))
    history = train_lightgcn(model, adjacency, users, items, config, evaluate=evaluate, device=device, progress=False)
    curve = [(row["train_seconds"], row[RECALL]) for row in history.rows if row.get(RECALL) is not None]
    with torch.no_grad():
        final_metrics = evaluate(model)
    return BenchResult(
        recipe=recipe.name,
        device=history.device,
        epochs=len(history.rows),
        train_seconds=history.train_seconds,
        metrics=final_metrics,
        curve=curve,
    )


# ---------------------------------------------------------------------------------------------
# PyG's example
# ---------------------------------------------------------------------------------------------


def load_pyg_lightgcn() -> type:
    """PyG's LightGCN class, imported here because PyG is a dependency of this benchmark only."""
    try:
        from torch_geometric.nn.models import LightGCN
    except ImportError as error:
        raise ImportError(PYG_INSTALL_HINT) from error
    return LightGCN


class PygGraph(NamedTuple):
    """The tensors of the example's training loop, for ML-100K's ``ua.base``."""

    edge_index: torch.Tensor  # message passing: every rating, both directions
    train_edge_label_index: torch.Tensor  # the labels: the user→movie edges
    num_users: int
    num_items: int


def pyg_graph(dataset: MovieLens, device: torch.device) -> PygGraph:
    """The graph laid out as the example gets it from Amazon-Book.

    Nodes are users ``0..U-1`` then movies ``U..U+I-1`` (``HeteroData.to_homogeneous``). The
    message-passing ``edge_index`` holds every rating in both directions, user→movie edges first;
    the training labels are the user→movie edges (the example's ``edge_index[0] < edge_index[1]``).
    """
    users, items = (torch.tensor(array, dtype=torch.long) for array in dataset.train_pairs())
    user_to_movie = torch.stack([users, items + dataset.num_users])
    edge_index = torch.cat([user_to_movie, user_to_movie.flip(0)], dim=1)
    return PygGraph(edge_index.to(device), user_to_movie.to(device), dataset.num_users, dataset.num_items)


def pyg_train_epoch(model, optimizer, loader, graph: PygGraph, lambda_reg: float) -> float:
    """One epoch of the example's ``train()``, step for step; returns the mean loss."""
    num_users, num_items, device = graph.num_users, graph.num_items, graph.edge_index.device
    total_loss = total_examples = 0.0
    for index in loader:
        # Sample positive and negative labels (negatives uniform over all movies, as in the example).
        pos_edge_label_index = graph.train_edge_label_index[:, index]
        random_movies = torch.randint(num_users, num_users + num_items, (index.numel(),), device=device)
        neg_edge_label_index = torch.stack([pos_edge_label_index[0], random_movies], dim=0)
        edge_label_index = torch.cat([pos_edge_label_index, neg_edge_label_index], dim=1)

        optimizer.zero_grad()
        pos_rank, neg_rank = model(graph.edge_index, edge_label_index).chunk(2)
        loss = model.recommendation_loss(pos_rank, neg_rank, node_id=edge_label_index.unique(), lambda_reg=lambda_reg)
        loss.backward()
        optimizer.step()

        # The example's float(loss): it waits for the step, as loss.item() in our loop does.
        total_loss += loss.item() * pos_rank.numel()
        total_examples += pos_rank.numel()
    return total_loss / total_examples


def run_pyg_example(
    dataset: MovieLens,
    evaluator: RankingEvaluator,
    device: torch.device,
    epochs: int | None = None,
    eval_every: int | None = None,
    recipe: PygExampleRecipe = PYG_EXAMPLE,
) -> BenchResult:
    """Train PyG's LightGCN as ``examples/lightgcn.py`` does, timing training steps only, and score it."""
    import torch_geometric

    pyg_lightgcn = load_pyg_lightgcn()
    epochs = epochs or recipe.epochs
    eval_every = eval_every or recipe.eval_every
    torch.manual_seed(recipe.seed)  # seeds the initialisation, the shuffling and the negatives
    graph = pyg_graph(dataset, device)
    num_labels, num_nodes = graph.train_edge_label_index.size(1), graph.num_users + graph.num_items
    loader = torch.utils.data.DataLoader(range(num_labels), shuffle=True, batch_size=recipe.batch_size)
    model = pyg_lightgcn(num_nodes=num_nodes, embedding_dim=recipe.embedding_dim, num_layers=recipe.num_layers)
    model = model.to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)

    def evaluate() -> dict:
        with torch.no_grad():
            embeddings = model.get_embedding(graph.edge_index)
        return score_embeddings(evaluator, embeddings[: graph.num_users], embeddings[graph.num_users :])

    train_seconds, curve = 0.0, []
    for epoch in range(1, epochs + 1):
        synchronize(device)
        started = time.perf_counter()
        loss = pyg_train_epoch(model, optimizer, loader, graph, recipe.lambda_reg)
        synchronize(device)
        train_seconds += time.perf_counter() - started
        if not math.isfinite(loss):
            raise FloatingPointError(f"PyG's loss became {loss} at epoch {epoch}.")
        if epoch % eval_every == 0 or epoch == epochs:
            curve.append((train_seconds, evaluate()[RECALL]))
    return BenchResult(
        recipe="pyg",
        device=str(device),
        epochs=epochs,
        train_seconds=train_seconds,
        metrics=evaluate(),
        curve=curve,
        extra={"torch_geometric": torch_geometric.__version__},
    )


# ---------------------------------------------------------------------------------------------
# What one training step launches
# ---------------------------------------------------------------------------------------------

#: The runtime calls that start a kernel, and those that make the CPU wait for the GPU.
LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx", "cudaGraphLaunch")
SYNC_CALLS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")


def count_per_step(run_steps: Callable[[], int], device: torch.device) -> dict:
    """Profile one call of ``run_steps()`` (after one unprofiled call, to warm up); counts per step.

    ``run_steps`` trains some steps and returns how many. The counts, divided by that number:

    * ``aten_ops``: PyTorch operators called from Python and autograd (nested ones not counted
      again). On a GPU each is at least one kernel launch, which costs the CPU a few microseconds
      whatever the kernel's size: on a graph as small as ML-100K's, that is what bounds a step.
    * on CUDA, ``kernel_launches`` (the runtime's launch calls), ``gpu_kernels`` (what the GPU ran:
      kernels, copies, memsets) and ``host_syncs`` (times the CPU waited for the GPU).
    """
    from torch.profiler import ProfilerActivity, profile

    run_steps()
    synchronize(device)
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    with profile(activities=activities) as profiler:
        steps = run_steps()
        synchronize(device)
    events = profiler.events()

    def is_top_level_op(event) -> bool:
        parent = event.cpu_parent
        return event.name.startswith("aten::") and (parent is None or not parent.name.startswith("aten::"))

    counts = {"steps_profiled": steps, "aten_ops": sum(map(is_top_level_op, events)) / steps}
    if device.type == "cuda":
        from torch.autograd import DeviceType

        counts["kernel_launches"] = sum(event.name in LAUNCH_CALLS for event in events) / steps
        counts["gpu_kernels"] = sum(event.device_type == DeviceType.CUDA for event in events) / steps
        counts["host_syncs"] = sum(event.name in SYNC_CALLS for event in events) / steps
    return {name: round(value, 1) if isinstance(value, float) else value for name, value in counts.items()}


def our_steps(recipe: Recipe, dataset: MovieLens, device: torch.device, steps: int = 10) -> Callable[[], int]:
    """``run()``: ``steps`` optimiser steps of ``recipe``, each exactly as ``train_lightgcn`` takes it
    (:func:`~utils.training.training_step`), on batches cut in turn from one sampled epoch."""
    users, items = (torch.tensor(array, dtype=torch.long) for array in dataset.train_pairs())
    config = recipe.config
    sampler = NegativeSampler(users, items, dataset.num_items, config.exclude_positives)
    draws = config.negatives_per_positive
    negatives = sampler.sample(users.repeat(draws), torch.Generator().manual_seed(config.seed)).view(draws, -1).T
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items).to(device)
    model = recipe.build_model(dataset.num_users, dataset.num_items).to(device)
    optimizer = make_optimizer(model, config.learning_rate)
    users, items, negatives = (tensor.to(device) for tensor in (users, items, negatives))
    batch_size = config.batch_size or len(users)
    starts = list(range(0, len(users), batch_size))

    def run() -> int:
        for step in range(steps):
            batch = slice(starts[step % len(starts)], starts[step % len(starts)] + batch_size)
            training_step(model, optimizer, adjacency, users[batch], items[batch], negatives[batch], config)
        return steps

    return run


def pyg_steps(dataset: MovieLens, device: torch.device, recipe: PygExampleRecipe = PYG_EXAMPLE) -> Callable[[], int]:
    """``run()``: one epoch of PyG's example (:func:`pyg_train_epoch`); returns its number of steps."""
    graph = pyg_graph(dataset, device)
    loader = torch.utils.data.DataLoader(range(graph.train_edge_label_index.size(1)), shuffle=True, batch_size=recipe.batch_size)
    model = load_pyg_lightgcn()(graph.num_users + graph.num_items, recipe.embedding_dim, recipe.num_layers).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)

    def run() -> int:
        pyg_train_epoch(model, optimizer, loader, graph, recipe.lambda_reg)
        return len(loader)

    return run


def steps_for(name: str, dataset: MovieLens, device: torch.device) -> Callable[[], int] | None:
    """The step runner :func:`count_per_step` profiles for the model ``name`` (None: no training steps)."""
    if name == "pyg":
        return pyg_steps(dataset, device)
    if name in OUR_RECIPES:
        return our_steps(OUR_RECIPES[name], dataset, device)
    return None


def warm_up(names: Sequence[str], dataset: MovieLens, device: torch.device) -> None:
    """Run the steps of each model once, untimed.

    A GPU loads each kernel and creates each library's handle on first use; warming up every model
    first keeps that start-up cost out of whichever model the bench happens to time first.
    """
    for name in names:
        run_steps = steps_for(name, dataset, device)
        if run_steps is not None:
            run_steps()
        synchronize(device)


# ---------------------------------------------------------------------------------------------
# Comparing ours with a peer
# ---------------------------------------------------------------------------------------------


def ratio(numerator: float | None, denominator: float | None) -> float | None:
    """``numerator / denominator``, or ``None`` when either is missing or the denominator is 0."""
    if numerator is None or denominator is None or denominator == 0:
        return None
    return numerator / denominator


def seconds_to_reach(curve: Sequence[tuple[float, float]], recall: float) -> float | None:
    """Training seconds of the first curve point whose recall is at least ``recall`` (None: never)."""
    return next((seconds for seconds, value in curve if value >= recall), None)


def recall_within(curve: Sequence[tuple[float, float]], seconds: float) -> float | None:
    """Recall of the last curve point measured within ``seconds`` of training (None: no point yet)."""
    reached = [value for point_seconds, value in curve if point_seconds <= seconds]
    return reached[-1] if reached else None


def compare(ours: BenchResult, peer: BenchResult) -> dict:
    """The ratios of ``ours`` to ``peer``: quality at the end, and speed to the same quality."""
    seconds = seconds_to_reach(ours.curve, peer.recall)
    return {
        f"{RECALL}_ratio": _round(ratio(ours.recall, peer.recall), 4),
        f"{NDCG}_ratio": _round(ratio(ours.metrics[NDCG], peer.metrics[NDCG]), 4),
        "seconds_to_same_recall": _round(seconds, 3),
        "speedup_to_same_recall": _round(ratio(peer.train_seconds, seconds), 2),
        "recall_at_equal_time": {
            "seconds": round(peer.train_seconds, 3),
            "ours": _round(recall_within(ours.curve, peer.train_seconds), 6),
            "peer": round(peer.recall, 6),
        },
    }


def ratios_line(results: Sequence[BenchResult], ours_name: str = OURS) -> dict:
    """``{"ratios": {peer: compare(ours, peer)}}`` for every result but ours; empty without ours."""
    by_name = {result.recipe: result for result in results}
    ours = by_name.get(ours_name)
    if ours is None:
        return {"ratios": {}}
    return {"ratios": {name: compare(ours, peer) for name, peer in by_name.items() if name != ours_name}}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options of ``python -m utils.bench``; ``--recipes`` comes back as a list of names."""
    parser = argparse.ArgumentParser(
        prog="python -m utils.bench",
        description="Train LightGCN recipes on ML-100K ua.base, score them on ua.test, print one JSON line each.",
    )
    add = parser.add_argument
    add("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: CUDA, then Apple MPS, then the CPU")
    add("--data-dir", help="the ml-100k folder (default: $ML100K_DIR, then data/ml-100k, downloading if needed)")
    add("--recipes", default=",".join(ALL_RECIPES), help=f"comma-separated from {', '.join(ALL_RECIPES)} (default: all)")
    for name, (epochs, _) in DEFAULT_SCHEDULES.items():
        add(f"--epochs-{name}", type=int, metavar="N", help=f"epochs of the {name} recipe (default: {epochs})")
    intervals = ", ".join(f"{every} for {name}" for name, (_, every) in DEFAULT_SCHEDULES.items())
    add("--eval-every", type=int, metavar="N", help=f"epochs between curve points, for all (default: {intervals})")
    add("--threads", type=int, metavar="N", help="torch CPU threads (default: torch's own choice)")
    add("--quick", action="store_true", help="a few epochs each: checks that the bench runs, measures nothing")
    add("--count-launches", action="store_true",
        help="after training each model, profile its steps and add 'per_step' counts (operators; on CUDA, "
             "kernel launches and host syncs) to its line")  # fmt: skip
    args = parser.parse_args(argv)
    args.recipes = list(dict.fromkeys(name.strip() for name in args.recipes.split(",") if name.strip()))
    unknown = [name for name in args.recipes if name not in ALL_RECIPES]
    if unknown or not args.recipes:
        parser.error(f"--recipes takes names from {', '.join(ALL_RECIPES)}; got {args.recipes}.")
    for name in DEFAULT_SCHEDULES:
        value = getattr(args, f"epochs_{name}")
        if value is not None and value < 1:
            parser.error(f"--epochs-{name} must be 1 or more, got {value}.")
    if args.eval_every is not None and args.eval_every < 1:
        parser.error(f"--eval-every must be 1 or more, got {args.eval_every}.")
    return args


def epochs_for(name: str, args: argparse.Namespace) -> int | None:
    """Epochs asked for ``name``: its --epochs-* option, else --quick's, else None (the recipe's own)."""
    explicit = getattr(args, f"epochs_{name}", None)
    if explicit is not None:
        return explicit
    return QUICK_EPOCHS[name] if args.quick else None


def run_closed_form(name: str, dataset: MovieLens, evaluator: RankingEvaluator, device, epochs=None, eval_every=None) -> BenchResult:
    """Most popular, or EASE with its λ chosen on the validation split (that choice is not timed)."""
    users, items = dataset.train_pairs()
    extra = {}
    if name == "ease":
        regularization, _ = choose_ease_regularization(dataset)
        extra["lambda"] = regularization
    started = time.perf_counter()
    if name == "ease":
        scores = ease_scores(users, items, dataset.num_users, dataset.num_items, regularization)
    else:
        scores = popularity_scores(items, dataset.num_items)
    seconds = time.perf_counter() - started
    metrics = evaluator.evaluate(scores, ks=(K,))
    return BenchResult(recipe=name, device="cpu", epochs=0, train_seconds=seconds, metrics=metrics,
                       curve=[(seconds, metrics[RECALL])], extra=extra)  # fmt: skip


def runner_for(name: str) -> Callable[..., BenchResult]:
    """The function that trains and scores the model called ``name``."""
    if name == "pyg":
        return run_pyg_example
    if name in CLOSED_FORM:
        return functools.partial(run_closed_form, name)
    return functools.partial(run_our_recipe, OUR_RECIPES[name])


def log(message: str) -> None:
    """Progress for the person watching; stdout stays pure JSON lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Run the benchmark; print (and return) one JSON object per model, then the ratios."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        if "pyg" in args.recipes:
            load_pyg_lightgcn()  # fail now, not after minutes of training the other recipes
        device = pick_device(args.device)
        dataset = load_movielens(args.data_dir)
    except (ImportError, RuntimeError, DatasetError) as error:
        raise SystemExit(f"error: {error}") from None

    evaluator = RankingEvaluator.from_dataset(dataset)
    eval_every = args.eval_every or (QUICK_EVAL_EVERY if args.quick else None)
    log(f"{dataset.num_users} users, {dataset.num_items} movies, {len(dataset.train)} ratings in {dataset.data_dir}")
    if device.type == "cuda":
        log(f"warming up {torch.cuda.get_device_name(device)} ...")
        warm_up(args.recipes, dataset, device)
    results, lines = [], []
    for name in args.recipes:
        log(f"training {name} on {device} ...")
        result = runner_for(name)(dataset, evaluator, device, epochs=epochs_for(name, args), eval_every=eval_every)
        run_steps = steps_for(name, dataset, device) if args.count_launches else None
        if run_steps is not None:
            try:
                result.extra["per_step"] = count_per_step(run_steps, device)
            except RuntimeError as error:  # a profiler that cannot start must not cost the measurements
                result.extra["per_step"] = {"error": f"the profiler failed: {error}"}
            log(f"{name}: per step {result.extra['per_step']}")
        log(f"{name}: {result.epochs} epochs in {result.train_seconds:.1f} s, recall@{K} {result.recall:.4f}")
        results.append(result)
        lines.append(result.to_json())
        print(json.dumps(lines[-1]), flush=True)
    lines.append(ratios_line(results))
    print(json.dumps(lines[-1]), flush=True)
    return lines


if __name__ == "__main__":
    main()
