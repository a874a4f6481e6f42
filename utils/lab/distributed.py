r"""Data-parallel training with ``torch.distributed``: every process takes its share of every batch.

LightGCN's tables and graph are small next to a GPU's memory up to ML-32M's size (``python -m
utils.lab.memory`` predicts the bytes of each, and what fits where), so each process keeps the whole model and the whole
graph; what is split is the work of each batch. With ``W`` processes and a
batch of ``b`` triples, process ``r`` takes rows ``[r·b // W, (r+1)·b // W)`` of that batch, computes
its loss on them, and the processes add up their gradients before every one of them takes the same
Adam step. Started from the same seed, the run is the single-process run of
:class:`utils.training.Trainer`, within float rounding: same epoch samples, same steps, same weights.

What is and is not split. Every step still propagates the *whole* graph forward and backward in
every process (``E^(k+1) = Â E^(k)`` does not depend on the batch); the scoring of the batch, the
BPR and L2 terms and their gradients are what is divided by ``W``. The split pays where the batch
work dominates (large batches, many negatives, the dense scoring); past the memory of one GPU the
tables themselves must be split instead (sharded embeddings as in TorchRec, or a partitioned
graph as in DGL's distributed training).

Launch on N GPUs of one machine (NCCL, one process per GPU)::

    torchrun --nproc_per_node=N -m utils.lab.distributed --recipe default --dataset ml-1m
    torchrun --nproc_per_node=N -m utils.lab.distributed --recipe default --backend nccl --data-dir /data/ml-25m --dataset ml-25m

on the CPU with gloo (what the test does, with 2 processes)::

    torchrun --nproc_per_node=2 -m utils.lab.distributed --recipe default --backend gloo --epochs 5

and on several machines, the same command on each with ``--nnodes=M --node_rank=i
--rdzv_backend=c10d --rdzv_endpoint=HOST:PORT``. Rank 0 evaluates the trained model and prints one
JSON line, then saves the checkpoint; without ``torchrun`` (no ``WORLD_SIZE``) it is one process.

Bad input ends the run before any training with one ``error:`` line on stderr that says what to
fix, and exit status 1: a bad ``--epochs``, ``--backend nccl`` without a GPU, a ``WORLD_SIZE``,
``RANK`` or ``LOCAL_RANK`` that is not a whole number in range, several processes without
``MASTER_ADDR``/``MASTER_PORT``, a checkpoint place that cannot be written. A mistake in the
arguments, which every process finds alike, is reported by rank 0 alone. Under ``torchrun`` that line
is the first one printed (after torchrun's own notice about ``OMP_NUM_THREADS`` when that variable
is unset); what torchrun prints after it, a ``ChildFailedError`` traceback and a table of the failed
processes, only repeats that a process ended with status 1.
"""

from __future__ import annotations

import argparse
import json
import os
from collections.abc import Callable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import torch
import torch.distributed as dist

from utils.models import MODELS, BPRModel
from utils.training import History, TrainConfig, Trainer

#: Models whose ``loss`` is a mean over the rows of the batch (plus terms that do not depend on the
#: batch): the weighted sum of the shares' losses is then exactly the loss of the whole batch. Any
#: model that keeps :meth:`BPRModel.loss` counts too. A loss that couples the rows of a batch
#: (SimGCL's InfoNCE and DirectAU's uniformity, over the batch's distinct users) would be computed
#: by each process on its share alone, a different objective: :class:`DataParallelTrainer` refuses it.
ROW_MEAN_LOSS_MODELS = frozenset({"lightgcn", "ngcf", "lightgcn-softmax", "lightgcn-on-ease"})


def loss_is_row_mean(model: BPRModel) -> bool:
    """Whether the class that defines ``model``'s loss is :class:`BPRModel` or one registered under a
    name of :data:`ROW_MEAN_LOSS_MODELS`."""
    owner = next(klass for klass in type(model).__mro__ if "loss" in vars(klass))
    return owner is BPRModel or any(MODELS.get(name) is owner for name in ROW_MEAN_LOSS_MODELS)


def share_bounds(batch_length: int, rank: int, world_size: int) -> tuple[int, int]:
    """Rows ``[start, stop)`` of a batch of ``batch_length`` rows that process ``rank`` takes.

    The shares are contiguous, cover the batch once, and differ in size by at most one row; a
    batch shorter than ``world_size`` (only ever the last one of an epoch) leaves some empty.
    """
    return rank * batch_length // world_size, (rank + 1) * batch_length // world_size


def check_world(rank: int, world_size: int, batch_size: int) -> None:
    """Errors that say what to fix: a bad rank, batches smaller than the world, no ``torch.distributed``.

    ``batch_size`` is the size of a full batch (``TrainConfig.batch_size``, or the number of
    training pairs for full batch, whichever is smaller).
    """
    if not (isinstance(world_size, int) and world_size >= 1 and isinstance(rank, int) and 0 <= rank < world_size):
        raise ValueError(
            f"rank must lie in 0..world_size-1 with world_size 1 or more, got rank {rank!r} of {world_size!r}."
        )
    if batch_size < world_size:
        raise ValueError(
            f"a batch of {batch_size} triples cannot be shared among {world_size} processes: every process needs at "
            f"least one row. Fix: a batch_size of {world_size} or more (data parallelism pays with large batches), "
            "or fewer processes."
        )
    if world_size == 1:
        return
    if not dist.is_available():
        raise RuntimeError(
            f"{world_size} processes were asked for, but this PyTorch build has no torch.distributed "
            f"(torch {torch.__version__}; macOS and some minimal builds leave it out). "
            "Fix: install a build with distributed support (the Linux wheels from pytorch.org have it), or run one process."
        )
    if not dist.is_initialized():
        raise RuntimeError(
            f"{world_size} processes were asked for, but no process group is initialised. Fix: launch with "
            "`torchrun --nproc_per_node=N -m utils.lab.distributed ...`, or call "
            "torch.distributed.init_process_group(backend, rank=rank, world_size=world_size) in every process first."
        )
    if (dist.get_rank(), dist.get_world_size()) != (rank, world_size):
        raise ValueError(
            f"rank {rank} of {world_size} was passed, but the process group says rank {dist.get_rank()} "
            f"of {dist.get_world_size()}. Fix: pass torch.distributed.get_rank() and get_world_size()."
        )


def _all_reduce_sum(tensors: Sequence[torch.Tensor]) -> list[torch.Tensor]:
    """Sum ``tensors`` over all processes with one collective per dtype; return the sums (views of one buffer)."""
    sums: list[torch.Tensor | None] = [None] * len(tensors)
    by_dtype: dict[torch.dtype, list[int]] = {}
    for index, tensor in enumerate(tensors):
        by_dtype.setdefault(tensor.dtype, []).append(index)
    for indices in by_dtype.values():
        flat = torch.cat([tensors[i].reshape(-1) for i in indices])
        dist.all_reduce(flat, op=dist.ReduceOp.SUM)
        offset = 0
        for i in indices:
            sums[i] = flat[offset : offset + tensors[i].numel()].view_as(tensors[i])
            offset += tensors[i].numel()
    return sums


class DataParallelTrainer(Trainer):
    r"""A :class:`~utils.training.Trainer` whose steps are shared among ``world_size`` processes.

    Sampling, the epoch loop, the records and :meth:`fit` are the Trainer's own: every process draws
    the whole epoch from the same seeded generator (the same permutation and negatives as one
    process; drawing only a share would change the random stream), and only :meth:`step` differs.

    Why the gradients are exactly those of one process. The single-process loss of a batch
    :math:`\mathcal B` of :math:`b` rows is a mean over its rows, :math:`L = \frac1b\sum_{n\in\mathcal B}\ell_n`
    (BPR averages over the rows and their negatives; the L2 term of ``regularize="batch"`` is
    divided by :math:`2b`), plus, with ``regularize="tables"``, a term :math:`T` that does not
    depend on the batch. Process :math:`r` computes the same loss on its share :math:`S_r` of
    :math:`n_r` rows, :math:`L_r = \frac1{n_r}\sum_{n\in S_r}\ell_n + T`, and back-propagates
    :math:`\frac{n_r}{b} L_r`. Since :math:`\sum_r n_r = b`,

    .. math::

        \sum_r \frac{n_r}{b} L_r = \frac1b \sum_r \sum_{n\in S_r}\ell_n + T = L,

    so the *sum* of the processes' gradients is :math:`\nabla L`, for shares of any sizes (an odd
    batch, a short last batch, an empty share). One ``all_reduce(SUM)`` per step carries every
    gradient, a flag per parameter (a parameter no share touched keeps ``grad=None``, as it would
    in one process, so Adam skips it alike) and the weighted loss and its parts (the record of the
    whole batch). Every process then holds the same gradient and takes the same Adam step (and
    scheduler step), so the weights never drift apart; they are broadcast from rank 0 once at the
    start, so even differently initialised processes begin alike.

    Why not ``DistributedDataParallel``. DDP *averages* the gradients, so each share's loss would
    have to be scaled by :math:`n_r W / b` instead; that is possible, but DDP prepares its gradient
    hooks in its own ``forward``, while the Trainer calls ``model.loss`` (a wrapper would be needed),
    and an empty share or an unused parameter needs ``find_unused_parameters``. What DDP buys,
    overlapping communication with the backward pass bucket by bucket, is nothing here: LightGCN's
    only parameters are the two layer-0 tables, whose gradients are complete only when the backward
    pass through all the layers ends. The explicit sum is as fast, exact, and says what it does.
    """

    def __init__(self, model: BPRModel, normalized_adjacency: torch.Tensor, train_users, train_items,
                 config: TrainConfig, rank: int, world_size: int, device: torch.device | str | None = None):  # fmt: skip
        if world_size > 1 and config.patience is not None:
            raise ValueError(
                "early stopping (patience) is not supported with several processes: they would have to agree "
                "on when to stop. Fix: patience=None (every recipe's setting), and evaluate the trained model."
            )
        if world_size > 1 and not loss_is_row_mean(model):
            raise ValueError(
                f"{type(model).__name__}'s loss is not known to be a mean over the rows of a batch (the losses that are: "
                f"BPRModel's and those of {', '.join(sorted(ROW_MEAN_LOSS_MODELS))}). Shared among {world_size} "
                "processes, each would compute it on its share of the batch alone: another objective than the one "
                "a single process trains. Fix: train it in one process (utils.training.train_model, or world_size=1); "
                "if its loss is such a mean, add its registered name to ROW_MEAN_LOSS_MODELS."
            )
        num_pairs = len(train_users)
        # The first batch is the longest; with no pairs at all the Trainer says so itself.
        check_world(rank, world_size, min(config.batch_size or num_pairs, num_pairs) if num_pairs else world_size)
        super().__init__(model, normalized_adjacency, train_users, train_items, config, device)
        self.rank, self.world_size = rank, world_size
        if world_size > 1:
            with torch.no_grad():
                for tensor in [*self.model.parameters(), *self.model.buffers()]:
                    dist.broadcast(tensor.data, src=0)

    def step(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """One Adam step on this process's share of the batch, gradients summed over all processes;
        returns ``[loss, *parts]`` of the *whole* batch, detached and left on the device."""
        config, model = self.config, self.model
        start, stop = share_bounds(len(users), self.rank, self.world_size)
        weight = (stop - start) / len(users)
        self.optimizer.zero_grad(set_to_none=True)
        if stop > start:
            loss, parts = model.loss(self.adjacency, users[start:stop], positives[start:stop], negatives[start:stop],
                                     weight_decay=config.weight_decay, regularize=config.regularize)  # fmt: skip
            (loss * weight).backward()
            if self.loss_parts is None:
                self.loss_parts = list(parts)
            record = torch.stack([loss.detach(), *parts.values()]) * weight
        else:  # a last batch shorter than the world: this process adds nothing but takes the step
            record = torch.zeros(1 + len(self.loss_parts or []), device=self.device)
        if self.world_size > 1:
            parameters = list(model.parameters())
            for parameter in parameters:
                if parameter.grad is not None and parameter.grad.is_sparse:
                    raise NotImplementedError(
                        "sparse gradients (nn.Embedding(sparse=True)) are not supported by the all-reduce."
                    )
            grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in parameters]
            used = torch.tensor([p.grad is not None for p in parameters], dtype=record.dtype, device=record.device)
            *grads, used, record = _all_reduce_sum([*grads, used, record])
            for parameter, grad, touched in zip(parameters, grads, used.tolist()):
                parameter.grad = grad if touched else None
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        return record


def train_data_parallel(
    model: BPRModel,
    normalized_adjacency: torch.Tensor,
    train_users,
    train_items,
    config: TrainConfig,
    rank: int,
    world_size: int,
    device: torch.device | str | None = None,
    evaluate: Callable[[BPRModel], dict] | None = None,
    progress: bool = False,
) -> History:
    """Train ``model`` in process ``rank`` of ``world_size``, each taking its share of every batch.

    Call it in every process (with the process group initialised when ``world_size > 1``) with the
    same data and config: the result is the single-process run of
    :func:`utils.training.train_model` with the same seed (see :class:`DataParallelTrainer`). Every
    process records the same losses; ``evaluate`` (pass it on rank 0 alone: the others wait for it
    at the next step) adds the metrics to its history.
    """
    trainer = DataParallelTrainer(
        model, normalized_adjacency, train_users, train_items, config, rank, world_size, device
    )
    return trainer.fit(evaluate, progress)


# ---------------------------------------------------------------------------------------------
# Command line (torchrun)
# ---------------------------------------------------------------------------------------------


def _whole_number_variable(name: str, default: int, least: int) -> int:
    value = os.environ.get(name, "").strip() or str(default)
    try:
        number = int(value)
    except ValueError:
        number = None
    if number is None or number < least:
        raise ValueError(
            f"the environment variable {name} is {os.environ.get(name)!r}; it must be a whole number {least} or more. "
            "Fix: launch with `torchrun --nproc_per_node=N -m utils.lab.distributed ...`, which sets WORLD_SIZE, RANK "
            "and LOCAL_RANK, or unset them all to train in one process."
        )
    return number


def read_world() -> tuple[int, int, int]:
    """``(rank, world_size, local_rank)`` from torchrun's ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` (one
    process when unset): whole numbers, the rank within the world, or a :class:`ValueError` that says what to fix."""
    world_size = _whole_number_variable("WORLD_SIZE", 1, 1)
    rank = _whole_number_variable("RANK", 0, 0)
    local_rank = _whole_number_variable("LOCAL_RANK", 0, 0)
    if rank >= world_size:
        raise ValueError(
            f"RANK is {rank} but WORLD_SIZE is {world_size}: ranks run from 0 to WORLD_SIZE - 1. Fix: launch with "
            "`torchrun --nproc_per_node=N -m utils.lab.distributed ...`, or unset RANK and WORLD_SIZE for one process."
        )
    return rank, world_size, local_rank


def init_from_environment(
    backend: str | None = None, timeout: timedelta | None = None
) -> tuple[int, int, torch.device, str]:
    """``(rank, world_size, device, backend)`` from torchrun's variables (:func:`read_world`);
    initialises the process group (``env://``) when there are several processes.

    The backend is ``backend`` if given, else NCCL when CUDA GPUs are there, else gloo; NCCL
    trains on ``cuda:LOCAL_RANK``, gloo on the CPU.
    """
    rank, world_size, local_rank = read_world()
    if world_size > 1 and not dist.is_available():
        raise RuntimeError(
            f"WORLD_SIZE is {world_size}, but this PyTorch build has no torch.distributed (torch {torch.__version__}). "
            "Fix: install a build with distributed support, or run one process (python -m utils.lab.distributed)."
        )
    if backend is None:
        backend = "nccl" if torch.cuda.is_available() and dist.is_available() and dist.is_nccl_available() else "gloo"
    if backend == "nccl":
        if not torch.cuda.is_available() or local_rank >= torch.cuda.device_count():
            raise RuntimeError(
                f"the NCCL backend needs a CUDA GPU for local rank {local_rank}, and PyTorch sees "
                f"{torch.cuda.device_count() if torch.cuda.is_available() else 0}. Fix: --nproc_per_node at most the "
                "number of GPUs, or --backend gloo to train on the CPU."
            )
        if world_size > 1 and not dist.is_nccl_available():
            raise RuntimeError(
                "this PyTorch build has no NCCL. Fix: install a CUDA build of torch, or use --backend gloo."
            )
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    elif backend == "gloo":
        device = torch.device("cpu")
    else:
        raise ValueError(f"backend must be 'nccl' or 'gloo', got {backend!r}.")
    if world_size > 1 and not dist.is_initialized():
        unset = [name for name in ("MASTER_ADDR", "MASTER_PORT") if not os.environ.get(name, "").strip()]
        if unset:
            raise ValueError(
                f"WORLD_SIZE is {world_size}, but {' and '.join(unset)} {'is' if len(unset) == 1 else 'are'} not set: "
                f"the processes would not know where to meet. Fix: launch with `torchrun --nproc_per_node={world_size} "
                "-m utils.lab.distributed ...`, which sets them, set MASTER_ADDR=HOST and MASTER_PORT=PORT in every "
                "process, or unset WORLD_SIZE to train in one process."
            )
        extra = {"device_id": device} if backend == "nccl" else {}
        dist.init_process_group(backend, init_method="env://", rank=rank, world_size=world_size,
                                **({"timeout": timeout} if timeout else {}), **extra)  # fmt: skip
    return rank, world_size, device, backend


def _stop(message: str, report: bool = True) -> NoReturn:
    """End this process with exit status 1 and, if ``report``, ``error: message`` on stderr (see the module's docstring)."""
    raise SystemExit(f"error: {message}" if report else 1)


def main(argv: Sequence[str] | None = None) -> dict | None:
    """``torchrun --nproc_per_node=N -m utils.lab.distributed [--recipe NAME] [--backend nccl|gloo] [dataset options]``.

    Returns (and rank 0 prints) one JSON line: the run, its last loss, training seconds, and the
    trained model's test metrics at K = 10 and 20; the other ranks return ``None``. Bad input is
    a ``SystemExit`` with one ``error:`` line, before any training.
    """
    from utils.checkpoints import check_writable, checkpoint_path, save_checkpoint
    from utils.datasets.cli import add_dataset_arguments, dataset_from_args
    from utils.graph import normalized_bipartite_adjacency
    from utils.metrics import RankingEvaluator
    from utils.recipes import RECIPES
    from utils.training import ranking_monitor

    parser = argparse.ArgumentParser(
        prog="torchrun --nproc_per_node=N -m utils.lab.distributed", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument(
        "--recipe", default="default", choices=list(RECIPES), help="the recipe to train (default: default)"
    )
    parser.add_argument(
        "--backend", choices=("nccl", "gloo"), help="nccl (GPUs) or gloo (CPU); default: nccl when GPUs exist"
    )
    parser.add_argument("--epochs", type=int, help="train this many epochs instead of the recipe's")
    parser.add_argument(
        "--checkpoint",
        help="where rank 0 saves the model (default: <checkpoint dir>/<recipe>_<dataset>_<split>_data_parallel.pt)",
    )
    parser.add_argument("--no-checkpoint", action="store_true", help="save nothing")
    add_dataset_arguments(parser)
    args = parser.parse_args(argv)
    recipe = RECIPES[args.recipe]

    # The arguments: every process finds a mistake in them alike, so rank 0 alone reports it.
    rank_text = os.environ.get("RANK", "").strip()
    first = not (rank_text.isdigit() and int(rank_text) > 0)  # rank 0, or a RANK that read_world reports
    if args.epochs is not None and args.epochs < 1:
        _stop(f"--epochs must be 1 or more, got {args.epochs}. Fix: a whole number of epochs such as --epochs 5, "
              f"or leave --epochs out for the recipe's own ({recipe.config.epochs}).", first)  # fmt: skip
    if args.backend == "nccl" and not torch.cuda.is_available():
        _stop(f"--backend nccl trains on CUDA GPUs, and PyTorch sees none (torch {torch.__version__}). Fix: --backend "
              "gloo to train on the CPU, or run on a machine with GPUs and a CUDA build of torch.", first)  # fmt: skip
    recipe = recipe if args.epochs is None else recipe.with_config(epochs=args.epochs)
    # The environment: torchrun's variables, then where rank 0 will save, then the process group.
    try:
        rank, _, _ = read_world()
        path = None
        if not args.no_checkpoint:
            default = checkpoint_path(args.dataset, args.split, recipe.name)
            path = Path(args.checkpoint or default.with_name(f"{default.stem}_data_parallel.pt"))
            if rank == 0:
                check_writable(path, fix="pass --checkpoint FILE in a folder you can write, point LIGHTGCN_CHECKPOINT_DIR "
                                         "at such a folder, or --no-checkpoint to save nothing.")  # fmt: skip
        rank, world_size, device, backend = init_from_environment(args.backend)
    except (ValueError, RuntimeError) as error:
        _stop(str(error))
    try:
        if rank == 0:
            dataset = dataset_from_args(args)  # downloads once, if it must
        if world_size > 1:
            dist.barrier()
        if rank != 0:
            dataset = dataset_from_args(args, download=False)
        users, items = dataset.train_pairs()
        adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
        evaluator = RankingEvaluator.from_dataset(dataset)
        config = recipe.config
        monitor = ranking_monitor(evaluator, adjacency, ks=sorted({10, config.monitor_k})) if rank == 0 else None
        model = recipe.build_model(dataset.num_users, dataset.num_items)
        history = train_data_parallel(model, adjacency, users, items, config, rank, world_size, device,
                                      evaluate=monitor, progress=rank == 0)  # fmt: skip
        if rank != 0:
            _finish_together(world_size)
            return None
        model.eval()
        with torch.no_grad():
            metrics = evaluator.evaluate(model.scorer(adjacency.to(device)), ks=(10, 20))
        last = history.rows[-1]
        line = {
            "recipe": recipe.name, "dataset": dataset.name, "split": dataset.split, "world_size": world_size,
            "backend": backend if world_size > 1 else None, "device": str(device), "epochs": last["epoch"],
            "loss": round(last["loss"], 6), "train_seconds": round(history.train_seconds, 2),
            **{name: round(value, 4) for name, value in metrics.items()},
            "checkpoint": None if path is None else str(path),
        }  # fmt: skip
        print(json.dumps(line), flush=True)  # the result first: a failed save below cannot take it away
        if path is not None:
            try:
                save_checkpoint(path, model, dataset.mapping, config, history, dataset=dataset.name, split=dataset.split)
            except OSError as error:
                _stop(f"the run above finished, but its checkpoint could not be saved at {path} ({error}). Fix: free "
                      "space or choose another place with --checkpoint FILE, and run again.")  # fmt: skip
        _finish_together(world_size)
        return line
    finally:
        if world_size > 1 and dist.is_initialized():
            dist.destroy_process_group()

def _finish_together(world_size: int) -> None:
    """Wait until every process is done before any tears the process group down: a gloo process
    whose peer closes its connections while it still holds them can abort ("terminate called
    without an active exception")."""
    if world_size > 1 and dist.is_initialized():
        dist.barrier()


if __name__ == "__main__":
    main()


# ---------------------------------------------------------------------------------------------
# Launching from Python (the notebooks)
# ---------------------------------------------------------------------------------------------


def _free_port() -> int:
    """A TCP port nothing listens on now, for the processes to meet at."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def launch(processes: int, *arguments: str, backend: str = "gloo", attempts: int = 2, timeout: float = 600) -> dict:
    """Run ``python -m utils.lab.distributed ARGUMENTS`` in one process, or under ``torchrun`` in
    ``processes`` processes (``--backend``), and return rank 0's JSON line plus ``wall_seconds``.

    Each process gets one CPU thread. A port picked free can be taken by someone else before the
    processes bind it, so a failed multi-process start is tried again on a new port (``attempts``
    in all); the last failure raises with the processes' error output.
    """
    import subprocess
    import sys
    import time

    root = Path(__file__).resolve().parents[2]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(root), os.environ.get("PYTHONPATH")])),
                   "OMP_NUM_THREADS": "1"}  # fmt: skip
    for attempt in range(1, attempts + 1):
        command = [sys.executable, "-m", "utils.lab.distributed", *arguments]
        if processes > 1:
            command = [sys.executable, "-m", "torch.distributed.run", f"--nproc_per_node={processes}",
                       f"--master_port={_free_port()}", "-m", "utils.lab.distributed", *arguments, "--backend", backend]  # fmt: skip
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True, cwd=root, env=environment, timeout=timeout, check=False)  # noqa: S603
        lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
        if done.returncode == 0 and lines:
            return {**json.loads(lines[-1]), "wall_seconds": time.perf_counter() - started}
        if attempt == attempts:
            raise RuntimeError(f"{' '.join(command[2:])} failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    raise AssertionError("unreachable")
