r"""Training benchmark: our recipes against each other, against PyG's LightGCN example and closed-form baselines.

``make bench`` (or ``python -m utils.lab.bench``) trains, in one run, on one device and one dataset,
every contender of :data:`CONTENDERS` that ``--recipes`` names (default: all, in this order):

* ``original``, ``default``, ``mf``, ``ngcf``: the recipes of those names in
  :data:`utils.recipes.RECIPES`, each trained by :class:`utils.training.Trainer`;
* ``pyg``: ``torch_geometric.nn.models.LightGCN`` trained step for step as PyG's own example
  ``examples/lightgcn.py`` trains it (:mod:`utils.lab.pyg_example`), with its own loss and sampling;
* ``popular`` and ``ease``: the closed-form baselines (EASE's λ chosen on a validation split carved
  from the training split; ``train_seconds`` is the time to fit them, ``epochs`` is 0);
* ``lgcn-ide``, ``gf-cf``, ``turbo-cf``, ``bspm``: the training-free graph filters of
  :mod:`utils.lab.filters`, closed form too, their hyper-parameters chosen on that validation split
  (:func:`utils.lab.filters.choose_filter_hyperparameters`; the choice is not timed).

Every model trains on the training part of the dataset's split (``--dataset``, ``--split``) and is
scored on its test part by the same :class:`~utils.metrics.RankingEvaluator` (full ranking over
every item, each user's training items masked), from its final scores.

Output (stdout; progress goes to stderr), one JSON object a line:

* one line per model: ``recipe``, ``dataset``, ``split``, ``device``, ``epochs``, ``train_seconds``
  (training only, evaluation excluded), ``seconds_per_epoch``, the final ``recall@10``,
  ``ndcg@10``, ``precision@10``, ``hit@10``, ``torch`` (its version), ``threads`` (torch's CPU
  threads), and ``curve``: ``[train_seconds, recall@10]`` pairs measured every few epochs during
  training. ``pyg`` adds ``torch_geometric`` (its version), ``ease`` adds ``lambda`` (its chosen
  λ), and each graph filter its chosen hyper-parameters under their own names (e.g. ``gf-cf``:
  ``num_factors``, ``ideal_weight``). With ``--count-launches``, each trained model adds
  ``per_step``: what one of its training steps calls (:func:`utils.lab.profiling.count_per_step`),
  profiled on the trained model after its metrics are taken;
* ``on-ease``: the recipe of that name, LightGCN trained on top of EASE's scores (notebook 10);
* a last line ``{"ratios": {peer: {...}}}`` comparing ours (``default``) to each other model measured:

  - ``recall@10_ratio``, ``ndcg@10_ratio``: ours divided by the peer's (above 1: ours ranks better);
  - ``seconds_to_same_recall``: training seconds ours needed to first reach the peer's final
    Recall@10, read off our curve (``null``: never reached);
  - ``speedup_to_same_recall``: the peer's ``train_seconds`` divided by that (above 1: ours gets
    there faster; ``null`` when ours never gets there);
  - ``recall_at_equal_time``: ``{"seconds": the peer's train_seconds, "ours": our Recall@10 at the
    last curve point within those seconds (null if none), "peer": the peer's final Recall@10}``;

  and, when ``ease`` and a trained model were measured, ``"best_trained_vs_ease"``: the same
  comparison between the trained model with the best Recall@10 (its name under ``recipe``) and EASE.

Seconds are wall-clock on the device named in each line: compare runs only on the same machine.
The curve of a model is only as fine as its evaluation interval (``--eval-every``), so the two
time-based comparisons are conservative by up to one interval.

A contender is one :class:`Contender`; adding a recipe of :data:`utils.recipes.RECIPES` to the
bench is one ``recipe_contender(name)`` line in :data:`CONTENDERS`.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch

from utils.baselines import choose_ease_regularization, ease_scores
from utils.data import DatasetError, find_dataset
from utils.datasets.cli import add_dataset_arguments, dataset_from_args
from utils.graph import normalized_bipartite_adjacency
from utils.lab import against
from utils.lab.filters import FILTERS, choose_filter_hyperparameters
from utils.lab.profiling import StepRunner, count_per_step, warm_up
from utils.lab.pyg_example import PYG_EXAMPLE, PygTraining, load_pyg_lightgcn, pyg_version, run_pyg_example
from utils.metrics import RankingEvaluator, popularity_scores
from utils.recipes import Recipe, get_recipe
from utils.training import Trainer, pick_device, ranking_monitor

K = 10
RECALL, NDCG, PRECISION, HIT = (f"{name}@{K}" for name in ("recall", "ndcg", "precision", "hit"))
REPORTED_METRICS = (RECALL, NDCG, PRECISION, HIT)

#: The recipe the others are compared with in the ratios line.
OURS = "default"
#: Training steps of our recipes that ``--count-launches`` profiles (PyG's: one epoch).
PROFILED_STEPS = 10
#: The evaluation interval of ``--quick``: a smoke test of the whole pipeline, not a measurement.
QUICK_EVAL_EVERY = 1


@dataclass
class BenchResult:
    """What one model measured: its final metrics, its training time and its recall-over-time curve.

    ``trained`` is what the run trained (our :class:`~utils.training.Trainer`, PyG's
    :class:`~utils.lab.pyg_example.PygTraining`; None for a closed-form model): the profiler steps it.
    """

    recipe: str
    device: str
    epochs: int
    train_seconds: float
    metrics: dict[str, float]
    curve: list[tuple[float, float]]
    extra: dict = dataclasses.field(default_factory=dict)
    dataset: str = ""
    split: str = ""
    trained: Any = dataclasses.field(default=None, repr=False, compare=False)

    @property
    def recall(self) -> float:
        return self.metrics[RECALL]

    def to_json(self) -> dict:
        """The JSON line of this model (values rounded for reading; ratios use the exact values)."""
        return {
            "recipe": self.recipe,
            "dataset": self.dataset,
            "split": self.split,
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


#: ``run(dataset, evaluator, device, epochs, eval_every)``; ``None`` epochs or interval: the contender's own.
Runner = Callable[..., BenchResult]


@dataclass(frozen=True)
class Contender:
    """Everything the bench knows about one model it measures.

    Args:
        name: its ``--recipes`` name and the ``recipe`` of its JSON line.
        run: trains (or fits) and scores it: ``run(dataset, evaluator, device, epochs, eval_every)``.
        quick_epochs: its epochs under ``--quick``.
        epochs, eval_every: its own schedule, shown by ``--help``; ``epochs=None`` means it does not
            train in epochs (no ``--epochs-<name>`` option, no warm-up, nothing to profile).
        steps: ``steps(result.trained)``: a step runner of the trained model's real training steps,
            for ``--count-launches``; None when it has no training steps.
        check: called before any data is read, to fail early (e.g. a missing dependency).
        description: one line for ``--help``'s list of contenders.
    """

    name: str
    run: Runner
    quick_epochs: int
    epochs: int | None = None
    eval_every: int | None = None
    steps: Callable[[Any], StepRunner] | None = None
    check: Callable[[], object] | None = None
    description: str = ""

    @property
    def trains(self) -> bool:
        return self.epochs is not None


# ---------------------------------------------------------------------------------------------
# Our recipes
# ---------------------------------------------------------------------------------------------


def run_recipe(recipe: Recipe, dataset, evaluator: RankingEvaluator, device: torch.device,
               epochs: int | None = None, eval_every: int | None = None) -> BenchResult:  # fmt: skip
    """Train one of our recipes with a :class:`~utils.training.Trainer` and score it."""
    config = recipe.config.replace(epochs=epochs or recipe.config.epochs, eval_every=eval_every or recipe.config.eval_every)
    users, items = dataset.train_pairs()
    # On the device already, so that evaluating does not copy the matrix there every time.
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items).to(device)
    model = recipe.build_model(dataset.num_users, dataset.num_items)
    evaluate = ranking_monitor(evaluator, adjacency, ks=(K,))
    trainer = Trainer(model, adjacency, users, items, config, device)
    history = trainer.fit(evaluate, progress=False)
    curve = [(row["train_seconds"], row[RECALL]) for row in history.rows if row.get(RECALL) is not None]
    with torch.no_grad():
        final_metrics = evaluate(model)
    return BenchResult(recipe=recipe.name, device=history.device, epochs=len(history.rows),
                       train_seconds=history.train_seconds, metrics=final_metrics, curve=curve, trained=trainer)  # fmt: skip


def trainer_steps(trainer: Trainer, steps: int = PROFILED_STEPS) -> StepRunner:
    """``run()``: ``steps`` calls of ``trainer.step``, the very step its training took, on batches
    cut in turn from one epoch that ``trainer`` samples now; returns ``steps``."""
    users, positives, negatives = trainer.sample_epoch()
    batches = [slice(start, start + trainer.batch_size) for start in trainer.batch_starts]

    def run() -> int:
        for step in range(steps):
            batch = batches[step % len(batches)]
            trainer.step(users[batch], positives[batch], negatives[batch])
        return steps

    return run


def recipe_contender(name: str, quick_epochs: int = 2) -> Contender:
    """The contender that trains :data:`utils.recipes.RECIPES` ``[name]``."""
    recipe = get_recipe(name)
    return Contender(
        name=recipe.name,
        run=functools.partial(run_recipe, recipe),
        quick_epochs=quick_epochs,
        epochs=recipe.config.epochs,
        eval_every=recipe.config.eval_every,
        steps=trainer_steps,
        description=recipe.description,
    )


# ---------------------------------------------------------------------------------------------
# PyG's example
# ---------------------------------------------------------------------------------------------


def run_pyg(dataset, evaluator: RankingEvaluator, device: torch.device,
            epochs: int | None = None, eval_every: int | None = None) -> BenchResult:  # fmt: skip
    """Train PyG's LightGCN as its example does (:func:`utils.lab.pyg_example.run_pyg_example`) and score it."""
    run = run_pyg_example(dataset, evaluator, device, epochs, eval_every, PYG_EXAMPLE, ks=(K,))
    return BenchResult(recipe="pyg", device=str(device), epochs=run.epochs, train_seconds=run.train_seconds,
                       metrics=run.metrics, curve=run.curve, extra={"torch_geometric": pyg_version()},
                       trained=run.training)  # fmt: skip


def pyg_steps(training: PygTraining) -> StepRunner:
    """``run()``: one epoch of PyG's example on its trained model; returns its number of steps."""
    return training.run_steps


PYG_CONTENDER = Contender(
    name="pyg",
    run=run_pyg,
    quick_epochs=2,
    epochs=PYG_EXAMPLE.epochs,
    eval_every=PYG_EXAMPLE.eval_every,
    steps=pyg_steps,
    check=load_pyg_lightgcn,
    description="PyG's LightGCN, trained as its examples/lightgcn.py does",
)


# ---------------------------------------------------------------------------------------------
# Closed-form baselines
# ---------------------------------------------------------------------------------------------


def _closed_form(name: str, fit_scores: Callable, dataset, evaluator: RankingEvaluator, extra: dict) -> BenchResult:
    """Time ``fit_scores(users, items, num_users, num_items)``, then score what it returns."""
    users, items = dataset.train_pairs()
    started = time.perf_counter()
    scores = fit_scores(users, items, dataset.num_users, dataset.num_items)
    seconds = time.perf_counter() - started
    metrics = evaluator.evaluate(scores, ks=(K,))
    return BenchResult(recipe=name, device="cpu", epochs=0, train_seconds=seconds, metrics=metrics,
                       curve=[(seconds, metrics[RECALL])], extra=extra)  # fmt: skip


def run_popular(dataset, evaluator: RankingEvaluator, device=None, epochs=None, eval_every=None) -> BenchResult:
    """Most popular: every user gets the items with the most training interactions."""
    return _closed_form("popular", lambda users, items, num_users, num_items: popularity_scores(items, num_items),
                        dataset, evaluator, extra={})  # fmt: skip


def run_ease(dataset, evaluator: RankingEvaluator, device=None, epochs=None, eval_every=None) -> BenchResult:
    """EASE with its λ chosen on the validation split (that choice is not timed)."""
    regularization, _ = choose_ease_regularization(dataset)
    fit = functools.partial(ease_scores, regularization=regularization)
    return _closed_form("ease", fit, dataset, evaluator, extra={"lambda": regularization})


def run_filter(name: str, dataset, evaluator: RankingEvaluator, device=None, epochs=None, eval_every=None) -> BenchResult:
    """The graph filter ``name`` of :data:`utils.lab.filters.FILTERS`, its hyper-parameters chosen on
    the validation split (that choice is not timed) and reported in its line."""
    chosen, _ = choose_filter_hyperparameters(dataset, name)
    fit = functools.partial(FILTERS[name].scores, **chosen)
    return _closed_form(name, fit, dataset, evaluator, extra=dict(chosen))


def filter_contender(name: str) -> Contender:
    """The contender that fits the graph filter :data:`utils.lab.filters.FILTERS` ``[name]``."""
    return Contender(name, functools.partial(run_filter, name), quick_epochs=0, description=FILTERS[name].description)


# ---------------------------------------------------------------------------------------------
# The contenders
# ---------------------------------------------------------------------------------------------


def _registry(*contenders: Contender) -> dict[str, Contender]:
    registry = {}
    for contender in contenders:
        if contender.name in registry:
            raise ValueError(f"two bench contenders are called {contender.name!r}.")
        registry[contender.name] = contender
    return registry


#: Every model the bench can measure, in the order it measures them by default.
CONTENDERS: dict[str, Contender] = _registry(
    recipe_contender("original", quick_epochs=4),
    recipe_contender("default"),
    PYG_CONTENDER,
    recipe_contender("mf"),
    recipe_contender("ngcf"),
    Contender("popular", run_popular, quick_epochs=0, description="most popular items (closed form)"),
    Contender("ease", run_ease, quick_epochs=0, description="EASE, λ chosen on validation (closed form)"),
    *(filter_contender(name) for name in FILTERS),
    recipe_contender("on-ease"),
)


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
    """``{"ratios": {peer: compare(ours, peer)}}`` for every result but ours (empty without ours),
    and, when EASE and a trained model were measured, ``"best_trained_vs_ease"``: the trained model
    with the highest Recall@10, named under ``recipe``, compared with EASE by :func:`compare`."""
    by_name = {result.recipe: result for result in results}
    ours = by_name.get(ours_name)
    line = {"ratios": {} if ours is None else {name: compare(ours, peer) for name, peer in by_name.items() if name != ours_name}}
    trained = [result for result in results if result.epochs > 0]
    if "ease" in by_name and trained:
        best = max(trained, key=lambda result: result.recall)
        line["best_trained_vs_ease"] = {"recipe": best.recipe, **compare(best, by_name["ease"])}
    return line


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def _epochs_dest(name: str) -> str:
    return "epochs_" + name.replace("-", "_")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The options of ``python -m utils.lab.bench``; ``--recipes`` comes back as a list of names."""
    width = max(map(len, CONTENDERS))
    parser = argparse.ArgumentParser(
        prog="python -m utils.lab.bench",
        description="Train recommenders on a dataset's training split, score them on its test split, print one JSON line each.",
        epilog="contenders:\n" + "\n".join(f"  {name:<{width}}  {c.description}" for name, c in CONTENDERS.items()),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add = parser.add_argument
    add("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: CUDA, then Apple MPS, then the CPU")
    add_dataset_arguments(parser)
    names = ", ".join(CONTENDERS)
    add("--recipes", default=",".join(CONTENDERS), help=f"comma-separated from {names} (default: all, in this order)")
    trained = [contender for contender in CONTENDERS.values() if contender.trains]
    for contender in trained:
        add(f"--epochs-{contender.name}", dest=_epochs_dest(contender.name), type=int, metavar="N",
            help=f"epochs of {contender.name} (default: {contender.epochs})")  # fmt: skip
    intervals = ", ".join(f"{contender.eval_every} for {contender.name}" for contender in trained)
    add("--eval-every", type=int, metavar="N", help=f"epochs between curve points, for all (default: {intervals})")
    add("--threads", type=int, metavar="N", help="torch CPU threads (default: torch's own choice)")
    add("--quick", action="store_true", help="a few epochs each: checks that the bench runs, measures nothing")
    add("--baseline-commit", metavar="COMMIT",
        help="instead: train each of --recipes here and at COMMIT (a git worktree), in fresh processes taking turns, "
             "and print each side's median training seconds and metrics and their speedup (utils.lab.against)")
    add("--rounds", type=int, default=2, metavar="N", help="with --baseline-commit: runs of each side (default: %(default)s)")
    add("--count-launches", action="store_true",
        help="after training each model, profile its training steps and add 'per_step' counts (operators; on "
             "CUDA, kernel launches and host syncs) to its line")  # fmt: skip
    args = parser.parse_args(argv)
    args.recipes = list(dict.fromkeys(name.strip() for name in args.recipes.split(",") if name.strip()))
    unknown = [name for name in args.recipes if name not in CONTENDERS]
    if unknown or not args.recipes:
        parser.error(f"--recipes takes names from {names}; got {args.recipes}.")
    for contender in trained:
        value = getattr(args, _epochs_dest(contender.name))
        if value is not None and value < 1:
            parser.error(f"--epochs-{contender.name} must be 1 or more, got {value}.")
    if args.eval_every is not None and args.eval_every < 1:
        parser.error(f"--eval-every must be 1 or more, got {args.eval_every}.")
    if args.threads is not None and args.threads < 1:
        parser.error(f"--threads must be 1 or more, got {args.threads}; leave it out for torch's own choice.")
    return args


def epochs_for(contender: Contender, args: argparse.Namespace) -> int | None:
    """Epochs asked for ``contender``: its --epochs-* option, else --quick's, else None (its own)."""
    explicit = getattr(args, _epochs_dest(contender.name), None)
    if explicit is not None:
        return explicit
    return contender.quick_epochs if args.quick else None


def warm_up_contenders(contenders: Sequence[Contender], dataset, evaluator: RankingEvaluator, device: torch.device) -> None:
    """Train each contender that trains for one epoch, untimed and thrown away (see :func:`utils.lab.profiling.warm_up`)."""
    warm_up([functools.partial(contender.run, dataset, evaluator, device, 1, 1) for contender in contenders if contender.trains], device)


def log(message: str) -> None:
    """Progress for the person watching; stdout stays pure JSON lines."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


@dataclass
class BenchRun:
    """What :func:`main` measured (exact values) and the JSON objects it printed (rounded)."""

    results: list[BenchResult]
    lines: list[dict]


def main(argv: Sequence[str] | None = None) -> BenchRun:
    """Run the benchmark; print one JSON object per model, then the ratios; return both."""
    args = parse_args(argv)
    if args.baseline_commit:
        return compare_with_commit(args)
    contenders = [CONTENDERS[name] for name in args.recipes]
    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        for contender in contenders:
            if contender.check is not None:
                contender.check()  # fail now, not after minutes of training the other contenders
        device = pick_device(args.device)
        dataset = dataset_from_args(args)
    except (ImportError, RuntimeError, DatasetError) as error:
        raise SystemExit(f"error: {error}") from None

    dataset_name, split = dataset.name, dataset.split
    evaluator = RankingEvaluator.from_dataset(dataset)
    eval_every = args.eval_every or (QUICK_EVAL_EVERY if args.quick else None)
    log(f"{dataset_name} ({split}): {dataset.num_users} users, {dataset.num_items} items, "
        f"{len(dataset.train)} training interactions in {dataset.data_dir}")  # fmt: skip
    if device.type == "cuda":
        log(f"warming up {torch.cuda.get_device_name(device)} ...")
        warm_up_contenders(contenders, dataset, evaluator, device)
    results, lines = [], []
    for contender in contenders:
        log(f"training {contender.name} on {device} ...")
        result = contender.run(dataset, evaluator, device, epochs_for(contender, args), eval_every)
        result = dataclasses.replace(result, dataset=dataset_name, split=split)
        if args.count_launches and contender.steps is not None:
            try:
                result.extra["per_step"] = count_per_step(contender.steps(result.trained), device)
            except RuntimeError as error:  # a profiler that cannot start must not cost the measurements
                result.extra["per_step"] = {"error": f"the profiler failed: {error}"}
            log(f"{contender.name}: per step {result.extra['per_step']}")
        result.trained = None  # hold one trained model at a time
        log(f"{contender.name}: {result.epochs} epochs in {result.train_seconds:.1f} s, recall@{K} {result.recall:.4f}")
        results.append(result)
        lines.append(result.to_json())
        print(json.dumps(lines[-1]), flush=True)
    lines.append(ratios_line(results))
    print(json.dumps(lines[-1]), flush=True)
    return BenchRun(results, lines)


def compare_with_commit(args: argparse.Namespace) -> BenchRun:
    """``--baseline-commit``: each recipe here and at that commit, taking turns (:mod:`utils.lab.against`)."""
    try:
        folder = find_dataset(args.data_dir, dataset=args.dataset)
        options = ["--device", args.device, "--dataset", args.dataset, "--data-dir", str(folder.resolve())]
        options += [*(["--split", args.split] if args.split else []), *(["--threads", str(args.threads)] if args.threads else []),
                    *(["--count-launches"] if args.count_launches else [])]
        lines = against.compare(args.baseline_commit, args.recipes, options, args.rounds)
    except (against.BaselineError, DatasetError) as error:
        raise SystemExit(f"error: {error}") from None
    return BenchRun([], lines)


if __name__ == "__main__":
    main()
