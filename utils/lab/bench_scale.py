r"""The measured ladder: where LightGCN's time and memory go as the data grows from 100K to 25M ratings.

``make bench-scale`` (or ``python -m utils.lab.bench_scale``) takes, for each size of ``--sizes``
(default: the shapes of ML-100K, ML-1M, ML-10M and ML-25M), the synthetic pairs of that shape
(:func:`utils.datasets.synthetic.shaped_pairs`: the generator of the synthetic files, the datasets' per-user
split of 20 %) and measures the default recipe (:data:`utils.recipes.DEFAULT_RECIPE`) on them, each
size in a fresh Python process, so that its peak memory is its own and nothing an earlier size
allocated is counted or reused. In that process, after a tiny untimed run of the same code (the
warm-up of :func:`utils.lab.memory.measure_peak`: libraries page in, thread pools start):

* **training**, as :func:`utils.lab.memory.run_training` allocates it: ``build_seconds`` of ``Â``
  (:func:`utils.graph.normalized_bipartite_adjacency`), ``setup_seconds`` of the model and the
  :class:`~utils.training.Trainer` (its negative sampler's lookup), ``sampling_seconds`` of one
  full epoch (:meth:`Trainer.sample_epoch <utils.training.Trainer.sample_epoch>`), then one untimed
  warm-up step and ``--steps`` timed calls of :meth:`Trainer.step <utils.training.Trainer.step>`
  (the very step training takes), each split by wrapping the model's ``get_embedding`` and
  ``loss`` and the optimiser's ``step`` into: ``propagation_forward`` (``model.get_embedding``, the
  K sparse products and the layer sum), ``loss_rest`` (the rest of the loss: batch scores, BPR, the
  L2 term), ``backward`` (``zero_grad`` and ``loss.backward()``, the propagation's backward
  included), ``optimizer`` (Adam's step); ``total`` is the whole call (on CUDA every boundary
  synchronises first). ``seconds_per_epoch = sampling_seconds + steps_per_epoch × total`` is
  **extrapolated** from the timed steps (a whole ML-25M epoch would take about nine hours on two
  cores: every step propagates the whole graph, so an epoch grows as the ratings squared);
* **evaluation**, as :func:`utils.lab.memory.run_evaluation` allocates it: a fresh ``Â``, an untrained
  model and a :class:`~utils.metrics.RankingEvaluator` (``eval_setup_seconds``), then
  ``eval_seconds`` of one full ranking of every test user over every movie, in the evaluator's
  blocks (Recall@10 and NDCG@10 of the untrained model come with it: the time is the point);
* **peak memory** of each phase, as :func:`utils.lab.memory.measure_peak` measures it (its
  ``measure_here``: collect garbage, read the resident set, reset the kernel's peak counter
  ``VmHWM``, run the phase, read the peak; ``malloc``'s mmap threshold fixed as there):
  ``train_peak_mb`` and ``eval_peak_mb`` are the peak *above* what was resident before the phase
  (the interpreter, torch, the generated pairs), the quantity :func:`utils.lab.memory.predict`
  predicts, printed beside them as ``predicted_train_peak_mb`` and ``predicted_eval_peak_mb``;
  ``train_process_peak_mb`` and ``eval_process_peak_mb`` are the whole process's peak resident set
  during the phase, everything included. On CUDA the lines add the GPU's peaks
  (``torch.cuda.max_memory_allocated``) and their predictions (``gpu_*``).

Output (stdout; progress goes to stderr), one JSON object a line: one per size with ``dataset``
(the shape's name), ``users``, ``movies``, ``ratings`` (training pairs), ``test_ratings``,
``device``, ``threads`` (torch's CPU threads), ``steps_timed``, ``build_seconds``,
``setup_seconds``, ``sampling_seconds``, ``steps_per_epoch``, ``step_seconds`` (the mean of each
part over the timed steps: ``propagation_forward``, ``loss_rest``, ``backward``, ``optimizer``,
``total``), ``seconds_per_epoch``, ``seconds_per_epoch_extrapolated`` (true), ``eval_setup_seconds``,
``eval_seconds``, ``eval_users``, ``recall@10``, ``ndcg@10``, ``train_peak_mb``, ``eval_peak_mb``,
``predicted_train_peak_mb``, ``predicted_eval_peak_mb``, ``train_process_peak_mb``,
``eval_process_peak_mb``, ``generate_seconds`` (making the pairs, not part of any cost),
``wall_seconds`` (the size's whole process) and ``torch`` (its version); a size whose process failed
prints ``dataset`` and ``error`` instead. The last line is ``{"exponents": {...}}``: for each of
:data:`EXPONENT_KEYS`, the slope of the least-squares line through ``(log ratings, log cost)`` over
the sizes measured (1: linear in the ratings; ``null`` with fewer than two sizes).

MB are 10^6 bytes. Seconds are wall-clock on the device and threads named in each line: compare
only lines of the same machine. ``--quick`` measures two tiny shapes with one step: a test that the
ladder runs, not a measurement.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence

import numpy as np
import torch

from utils.datasets.synthetic import SHAPES, shaped_pairs
from utils.lab import memory

#: The ladder of ``make bench-scale``: MovieLens shapes, from 100K to 25M ratings.
DEFAULT_SIZES = ("ml-100k", "ml-1m", "ml-10m", "ml-25m")
#: ``--quick``'s sizes: (users, movies, ratings), about 20K and 100K ratings.
QUICK_SIZES = {"quick-20k": (600, 500, 20_000), "quick-100k": (2_000, 1_200, 100_000)}
#: Timed training steps per size (after one untimed warm-up step).
DEFAULT_STEPS = 3
#: The costs whose log–log slope against the training ratings the last line gives.
EXPONENT_KEYS = ("seconds_per_epoch", "sampling_seconds", "step_seconds.total", "build_seconds", "eval_seconds",
                 "train_peak_mb", "eval_peak_mb")  # fmt: skip
#: The parts of a step, in the order a step runs them.
STEP_PARTS = ("propagation_forward", "loss_rest", "backward", "optimizer")
#: Seconds one size's process may take before it is stopped.
SIZE_TIMEOUT = 1800
K = 10


def log(message: str) -> None:
    """Progress for the person watching; stdout stays pure JSON lines."""
    print(f"[bench-scale] {message}", file=sys.stderr, flush=True)


def resolve_size(size: str) -> tuple[int, int, int]:
    """``(users, movies, ratings)`` of a size: a name of :data:`utils.datasets.synthetic.SHAPES` or of
    :data:`QUICK_SIZES`, or ``USERSxMOVIESxRATINGS`` (e.g. ``1000x800x40000``)."""
    if size in SHAPES:
        return SHAPES[size]
    if size in QUICK_SIZES:
        return QUICK_SIZES[size]
    parts = size.lower().replace("_", "").split("x")
    if len(parts) == 3 and all(part.isdigit() for part in parts):
        return tuple(int(part) for part in parts)
    raise ValueError(f"unknown size {size!r}: a name of {', '.join([*SHAPES, *QUICK_SIZES])}, or USERSxMOVIESxRATINGS.")


# ---------------------------------------------------------------------------------------------
# One size, in this process
# ---------------------------------------------------------------------------------------------


class StepClock:
    """Times the parts of :meth:`Trainer.step` by wrapping, on the instances only, the methods it
    calls: ``model.loss``, ``model.get_embedding`` (called by the loss) and ``optimizer.step``.

    The step itself is not copied: :meth:`time_step` calls the Trainer's own ``step``.
    """

    def __init__(self, trainer, synchronize: Callable[[], None]):
        self.trainer, self.synchronize, self.marks = trainer, synchronize, {}
        model, optimizer = trainer.model, trainer.optimizer
        self._wrapped = [(model, "get_embedding", "forward"), (model, "loss", "loss"), (optimizer, "step", "optimizer")]
        for owner, name, mark in self._wrapped:
            setattr(owner, name, self._timed(getattr(owner, name), mark))

    def _mark(self, name: str) -> None:
        self.synchronize()
        self.marks[name] = time.perf_counter()

    def _timed(self, method: Callable, name: str) -> Callable:
        def timed(*args, **kwargs):
            self._mark(f"{name}_start")
            out = method(*args, **kwargs)
            self._mark(f"{name}_end")
            return out

        return timed

    def time_step(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> dict[str, float]:
        """Run one ``trainer.step``; return the seconds of each of :data:`STEP_PARTS` and ``total``."""
        self.marks.clear()
        self._mark("call_start")
        self.trainer.step(users, positives, negatives)
        self._mark("call_end")
        m = self.marks
        forward = m["forward_end"] - m["forward_start"]
        return {
            "propagation_forward": forward,
            "loss_rest": m["loss_end"] - m["loss_start"] - forward,
            "backward": m["optimizer_start"] - m["loss_end"],
            "optimizer": m["optimizer_end"] - m["optimizer_start"],
            "total": m["call_end"] - m["call_start"],
        }

    def restore(self) -> None:
        for owner, name, _ in self._wrapped:
            delattr(owner, name)  # the instance attribute goes; the class's method shows again


def _synchronizer(device: torch.device) -> Callable[[], None]:
    return (lambda: torch.cuda.synchronize(device)) if device.type == "cuda" else (lambda: None)


def _train_phase(out: dict, pairs: tuple, recipe, steps: int, device: torch.device) -> None:
    """What :func:`utils.lab.memory.run_training` allocates, timed part by part into ``out``."""
    from utils.graph import normalized_bipartite_adjacency
    from utils.training import Trainer

    users, items, _, _, num_users, num_items = pairs
    sync = _synchronizer(device)
    started = time.perf_counter()
    adjacency = normalized_bipartite_adjacency(users, items, num_users, num_items)
    out["build_seconds"] = time.perf_counter() - started
    log(f"  built Â ({2 * len(users):,} non-zeros) in {out['build_seconds']:.1f} s")
    started = time.perf_counter()
    trainer = Trainer(recipe.build_model(num_users, num_items), adjacency, users, items, recipe.config, device=device)
    sync()
    out["setup_seconds"] = time.perf_counter() - started
    started = time.perf_counter()
    batch_users, positives, negatives = trainer.sample_epoch()
    sync()
    out["sampling_seconds"] = time.perf_counter() - started
    batches = [slice(start, start + trainer.batch_size) for start in trainer.batch_starts]
    out["steps_per_epoch"] = len(batches)
    log(f"  sampled an epoch ({len(batches):,} steps of {trainer.batch_size}) in {out['sampling_seconds']:.1f} s")
    clock = StepClock(trainer, sync)
    measured = []
    for index in range(steps + 1):  # step 0 is the untimed warm-up
        batch = batches[index % len(batches)]
        parts = clock.time_step(batch_users[batch], positives[batch], negatives[batch])
        if index:
            measured.append(parts)
            log(f"  step {index}/{steps}: {parts['total']:.3f} s "
                f"(forward propagation {parts['propagation_forward']:.3f} s, backward {parts['backward']:.3f} s)")  # fmt: skip
    clock.restore()
    out["step_seconds"] = {name: float(np.mean([parts[name] for parts in measured])) for name in (*STEP_PARTS, "total")}


def _eval_phase(out: dict, pairs: tuple, recipe, device: torch.device) -> None:
    """What :func:`utils.lab.memory.run_evaluation` allocates, with the ranking timed into ``out``."""
    from utils.graph import normalized_bipartite_adjacency
    from utils.metrics import RankingEvaluator

    users, items, test_users, test_items, num_users, num_items = pairs
    sync = _synchronizer(device)
    started = time.perf_counter()
    adjacency = normalized_bipartite_adjacency(users, items, num_users, num_items).to(device)
    model = recipe.build_model(num_users, num_items).to(device)
    evaluator = RankingEvaluator(users, items, test_users, test_items, num_users, num_items)
    sync()
    out["eval_setup_seconds"] = time.perf_counter() - started
    blocks = math.ceil(len(evaluator.users) / evaluator.batch_size)
    log(
        f"  ranking {num_items:,} movies for {len(evaluator.users):,} users in {blocks:,} blocks of {evaluator.batch_size} ..."
    )
    done = [0]
    started = time.perf_counter()
    with torch.no_grad():
        scores = model.scorer(adjacency)

        def counted(block_users: torch.Tensor) -> torch.Tensor:
            done[0] += 1
            if blocks >= 20 and done[0] % (blocks // 10) == 0:
                log(f"    {done[0]:,}/{blocks:,} blocks, {time.perf_counter() - started:.0f} s")
            return scores(block_users)

        metrics = evaluator.evaluate(counted, ks=(K,))
    sync()
    out["eval_seconds"] = time.perf_counter() - started
    out["eval_users"] = len(evaluator.users)
    out[f"recall@{K}"], out[f"ndcg@{K}"] = metrics[f"recall@{K}"], metrics[f"ndcg@{K}"]


def _warm_up(device: torch.device) -> None:
    """A tiny training and evaluation through the same code, untimed (as :func:`utils.lab.memory.check` warms up)."""
    users, items = memory.long_tailed_pairs(50, 60, 500)
    memory.run_training(users, items, 50, 60, steps=2, device=device)
    memory.run_evaluation(users[100:], items[100:], users[:100], items[:100], 50, 60, device=device)


def _measure_phase(phase: Callable, out: dict, *args) -> tuple[int, int, int]:
    """``(peak above the baseline, the process's peak, the GPU's peak)`` in bytes of ``phase(out, *args)``,
    measured as :func:`utils.lab.memory.measure_peak` measures in its process."""
    on_cuda = torch.cuda.is_available() and torch.cuda.is_initialized()
    if on_cuda:
        torch.cuda.synchronize()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        gpu_baseline = torch.cuda.memory_allocated()
    peak = memory.measure_here(phase, (out, *args), {}, None, "rss")
    process_peak = memory.peak_rss_bytes()
    gpu_peak = torch.cuda.max_memory_allocated() - gpu_baseline if on_cuda else 0
    return peak, process_peak, gpu_peak


def measure_size(size: str | tuple[int, int, int], steps: int = DEFAULT_STEPS, device: str = "cpu", seed: int = 0,
                 recipe=None) -> dict:  # fmt: skip
    """Measure one size in this process; return its JSON line (a dict). See the module's docstring.

    Run it in a fresh process (:func:`run_size`) for peaks that are the size's own.
    """
    from utils.recipes import DEFAULT_RECIPE
    from utils.training import pick_device

    if steps < 1:
        raise ValueError(f"steps must be 1 or more, got {steps}.")
    recipe = DEFAULT_RECIPE if recipe is None else recipe
    name = size if isinstance(size, str) else "x".join(map(str, size))
    shape = resolve_size(size) if isinstance(size, str) else tuple(size)
    device = pick_device(device)
    wall = time.perf_counter()
    _warm_up(device)
    started = time.perf_counter()
    pairs = shaped_pairs(shape, seed=seed)
    generate_seconds = time.perf_counter() - started
    train_users, _, test_users, _, num_users, num_items = pairs
    ratings, test_ratings = len(train_users), len(test_users)
    log(f"{name}: {num_users:,} users, {num_items:,} movies, {ratings:,} training and {test_ratings:,} test ratings "
        f"(made in {generate_seconds:.1f} s); {device}, {torch.get_num_threads()} threads")  # fmt: skip

    out: dict = {}
    train_peak, train_process_peak, train_gpu_peak = _measure_phase(_train_phase, out, pairs, recipe, steps, device)
    log(f"  training peak {train_peak / 1e6:,.0f} MB above the baseline ({train_process_peak / 1e6:,.0f} MB in all)")
    eval_peak, eval_process_peak, eval_gpu_peak = _measure_phase(_eval_phase, out, pairs, recipe, device)
    log(f"  evaluation in {out['eval_seconds']:.1f} s, peak {eval_peak / 1e6:,.0f} MB above the baseline "
        f"({eval_process_peak / 1e6:,.0f} MB in all)")  # fmt: skip
    cpu = memory.predict(num_users, num_items, ratings, recipe, num_test_ratings=test_ratings)
    step = out["step_seconds"]
    line = {
        "dataset": name,
        "users": num_users,
        "movies": num_items,
        "ratings": ratings,
        "test_ratings": test_ratings,
        "device": str(device),
        "threads": torch.get_num_threads(),
        "steps_timed": steps,
        "build_seconds": round(out["build_seconds"], 4),
        "setup_seconds": round(out["setup_seconds"], 4),
        "sampling_seconds": round(out["sampling_seconds"], 4),
        "steps_per_epoch": out["steps_per_epoch"],
        "step_seconds": {part: round(value, 5) for part, value in step.items()},
        "seconds_per_epoch": round(out["sampling_seconds"] + out["steps_per_epoch"] * step["total"], 3),
        "seconds_per_epoch_extrapolated": True,
        "eval_setup_seconds": round(out["eval_setup_seconds"], 4),
        "eval_seconds": round(out["eval_seconds"], 4),
        "eval_users": out["eval_users"],
        f"recall@{K}": round(out[f"recall@{K}"], 6),
        f"ndcg@{K}": round(out[f"ndcg@{K}"], 6),
        "train_peak_mb": round(train_peak / 1e6, 1),
        "eval_peak_mb": round(eval_peak / 1e6, 1),
        "predicted_train_peak_mb": round(cpu["train_peak"] / 1e6, 1),
        "predicted_eval_peak_mb": round(cpu["eval_peak"] / 1e6, 1),
        "train_process_peak_mb": round(train_process_peak / 1e6, 1),
        "eval_process_peak_mb": round(eval_process_peak / 1e6, 1),
        "generate_seconds": round(generate_seconds, 3),
    }
    if device.type == "cuda":
        gpu = memory.predict(num_users, num_items, ratings, recipe, num_test_ratings=test_ratings, device="cuda")
        line.update({"gpu": torch.cuda.get_device_name(device),
                     "gpu_train_peak_mb": round(train_gpu_peak / 1e6, 1), "gpu_eval_peak_mb": round(eval_gpu_peak / 1e6, 1),
                     "predicted_gpu_train_peak_mb": round(gpu["train_peak"] / 1e6, 1),
                     "predicted_gpu_eval_peak_mb": round(gpu["eval_peak"] / 1e6, 1)})  # fmt: skip
    line["wall_seconds"] = round(time.perf_counter() - wall, 2)
    line["torch"] = torch.__version__
    return line


# ---------------------------------------------------------------------------------------------
# One size, in a fresh process; the ladder; the exponents
# ---------------------------------------------------------------------------------------------


def run_size(size: str, steps: int = DEFAULT_STEPS, device: str = "cpu", seed: int = 0, threads: int | None = None,
             timeout: float = SIZE_TIMEOUT) -> dict:  # fmt: skip
    """:func:`measure_size` in a fresh Python process (``python -m utils.lab.bench_scale --one SIZE``),
    with ``malloc`` set as :func:`utils.lab.memory.measure_peak` sets it; its progress goes to this
    process's stderr. A failed or stopped process gives ``{"dataset": size, "error": ...}``."""
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(memory.MMAP_THRESHOLD),
                   "MALLOC_TRIM_THRESHOLD_": str(memory.MMAP_THRESHOLD),
                   "PYTHONPATH": os.pathsep.join(path for path in sys.path if path)}  # fmt: skip
    command = [sys.executable, "-m", "utils.lab.bench_scale", "--one", size, "--steps", str(steps), "--device", device,
               "--seed", str(seed), *(["--threads", str(threads)] if threads else [])]  # fmt: skip
    try:
        done = subprocess.run(command, stdout=subprocess.PIPE, env=environment, timeout=timeout, check=False)  # noqa: S603
    except subprocess.TimeoutExpired:
        return {"dataset": size, "error": f"stopped after {timeout:.0f} s"}
    lines = done.stdout.decode(errors="replace").strip().splitlines()
    if done.returncode != 0 or not lines:
        return {"dataset": size, "error": f"its process exited with {done.returncode} (see the progress above)"}
    return json.loads(lines[-1])


def _value(line: dict, key: str) -> float | None:
    for part in key.split("."):
        line = line.get(part) if isinstance(line, dict) else None
    return line


def fit_exponents(lines: Sequence[dict], keys: Sequence[str] = EXPONENT_KEYS) -> dict:
    """``{"exponents": {key: slope}}``: the least-squares slope of ``log cost`` on ``log ratings``
    over the lines that measured it (``None`` with fewer than two distinct sizes)."""
    exponents = {}
    for key in keys:
        points = [(line["ratings"], _value(line, key)) for line in lines if "error" not in line]
        points = [(ratings, cost) for ratings, cost in points if cost is not None and cost > 0 and ratings > 0]
        if len({ratings for ratings, _ in points}) < 2:
            exponents[key] = None
            continue
        x, y = np.log([p[0] for p in points]), np.log([p[1] for p in points])
        exponents[key] = round(float(np.polyfit(x, y, 1)[0]), 3)
    measured = [line for line in lines if "error" not in line]
    return {"exponents": exponents, "against": "ratings", "fit": "least squares of log cost on log ratings",
            "sizes": [line["dataset"] for line in measured], "ratings": [line["ratings"] for line in measured]}  # fmt: skip


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m utils.lab.bench_scale",
        description="The measured ladder: LightGCN's seconds per epoch (sampling, propagation, backward, optimiser), "
                    "evaluation seconds and peak memory on synthetic data of MovieLens' shapes, one JSON line a size.",
    )  # fmt: skip
    add = parser.add_argument
    add("--sizes", help=f"comma-separated names of {', '.join(SHAPES)}, or USERSxMOVIESxRATINGS "
                        f"(default: {','.join(DEFAULT_SIZES)}; with --quick: {','.join(QUICK_SIZES)})")  # fmt: skip
    add(
        "--steps",
        type=int,
        help=f"timed training steps per size, after one untimed (default {DEFAULT_STEPS}; --quick: 1)",
    )
    add("--device", default="auto", choices=("auto", "cpu", "cuda"), help="default: CUDA if there is one, else the CPU")
    add("--threads", type=int, metavar="N", help="torch CPU threads (default: torch's own choice)")
    add("--seed", type=int, default=0, help="seed of the synthetic pairs (default 0)")
    add("--timeout", type=float, default=SIZE_TIMEOUT, help="seconds one size may take (default %(default)s)")
    add("--quick", action="store_true", help="two tiny sizes, one step: checks that the ladder runs, measures nothing")
    add("--one", help=argparse.SUPPRESS)  # the process of one size (run_size)
    args = parser.parse_args(argv)
    args.steps = args.steps if args.steps is not None else (1 if args.quick else DEFAULT_STEPS)
    if args.steps < 1:
        parser.error(f"--steps must be 1 or more, got {args.steps}.")
    default = ",".join(QUICK_SIZES if args.quick else DEFAULT_SIZES)
    args.sizes = [size.strip() for size in (args.sizes or default).split(",") if size.strip()]
    for size in args.sizes if args.one is None else [args.one]:
        try:
            resolve_size(size)
        except ValueError as error:
            parser.error(str(error))
    if args.device == "auto":
        args.device = "cuda" if torch.cuda.is_available() else "cpu"
    return args


def main(argv: Sequence[str] | None = None) -> list[dict]:
    """Measure every size in its own process; print its JSON line, then the exponents; return the lines."""
    args = parse_args(argv)
    if args.one is not None:  # we are the process of one size
        if args.threads:
            torch.set_num_threads(args.threads)
        line = measure_size(args.one, args.steps, args.device, args.seed)
        print(json.dumps(line), flush=True)
        return [line]
    lines = []
    started = time.perf_counter()
    for size in args.sizes:
        log(f"{size}: a fresh process ...")
        line = run_size(size, args.steps, args.device, args.seed, args.threads, args.timeout)
        lines.append(line)
        print(json.dumps(line), flush=True)
    lines.append(fit_exponents(lines))
    print(json.dumps(lines[-1]), flush=True)
    log(f"done in {time.perf_counter() - started:.0f} s")
    return lines


if __name__ == "__main__":
    main()
