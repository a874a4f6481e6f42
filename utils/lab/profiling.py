"""What one training step calls: PyTorch operators, and on CUDA kernel launches and host syncs.

The benchmark (:mod:`utils.lab.bench`) hands :func:`count_per_step` a *step runner*: a function of no
arguments that takes some real training steps of an already trained model (our
:meth:`utils.training.Trainer.step`, PyG's :func:`utils.lab.pyg_example.pyg_train_epoch`) and returns
how many it took. :func:`warm_up` runs callables like that once before anything is timed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

import torch

#: The runtime calls that start a kernel, and those that make the CPU wait for the GPU.
LAUNCH_CALLS = ("cudaLaunchKernel", "cudaLaunchKernelExC", "cuLaunchKernel", "cuLaunchKernelEx", "cudaGraphLaunch")
SYNC_CALLS = ("cudaStreamSynchronize", "cudaDeviceSynchronize", "cudaEventSynchronize")

#: A step runner: takes some training steps, returns how many.
StepRunner = Callable[[], int]


def synchronize(device: torch.device) -> None:
    """Wait for queued GPU work, so that a clock read after it measures the work itself."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def count_per_step(run_steps: StepRunner, device: torch.device) -> dict:
    """Profile one call of ``run_steps()`` (after one unprofiled call, to warm up); counts per step.

    ``run_steps`` trains some steps and returns how many. The counts, divided by that number:

    * ``aten_ops``: PyTorch operators called from Python and autograd (nested ones not counted
      again). On a GPU each is at least one kernel launch, which costs the CPU a few microseconds
      whatever the kernel's size: on a small graph, that is what bounds a step.
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


def warm_up(runs: Iterable[Callable[[], object]], device: torch.device) -> None:
    """Call each of ``runs`` once, untimed, waiting for the device after each.

    A GPU loads each kernel and creates each library's handle on first use; running every model's
    training steps once before timing any of them keeps that start-up cost out of whichever model
    happens to be timed first.
    """
    for run in runs:
        run()
        synchronize(device)


#: The parts of an epoch that :func:`epoch_phases` times, in the order a step runs them.
PHASES = ("sampling", "propagation forward", "scores and loss forward", "scores and loss backward",
          "propagation backward", "Adam")  # fmt: skip


def epoch_phases(trainers: Mapping, repeats: int = 5) -> dict[str, dict[str, float]]:
    """Seconds per epoch of each of :data:`PHASES` for each of ``trainers`` (``{label: Trainer}``), the
    median over ``repeats`` epochs, plus ``"epoch"``: a whole :meth:`run_epoch` timed as is.

    The trainers take turns, epoch by epoch, so that a busy moment of the machine slows them all.
    A step is cut where autograd allows: the final embeddings are computed, detached and made leaves,
    so the scores and the loss run forward and backward to them alone; their gradient is then sent
    back through the propagation. The parts run the step's own calls (``model.get_embedding``,
    ``model.loss``'s pieces, the optimiser) and add up to within a few percent of the whole step.
    """
    import statistics

    runs = {label: [] for label in trainers}
    wholes = {label: [] for label in trainers}
    for _ in range(repeats):
        for label, trainer in trainers.items():
            runs[label].append(_one_epoch_by_phase(trainer))
            wholes[label].append(_timed(trainer.device, trainer.run_epoch)[0])
    return {label: {**{phase: statistics.median(run[phase] for run in runs[label]) for phase in PHASES},
                    "epoch": statistics.median(wholes[label])} for label in trainers}  # fmt: skip


def _timed(device: torch.device, work: Callable, *args) -> tuple[float, object]:
    """``(seconds, work(*args))``, waiting for the device before and after."""
    import time

    synchronize(device)
    started = time.perf_counter()
    result = work(*args)
    synchronize(device)
    return time.perf_counter() - started, result


def _batch_loss(model, config, user_final, item_final, users, positives, negatives) -> torch.Tensor:
    """BPR + λ·L2 of one batch from given final embeddings: the rest of ``BPRModel.loss`` after the propagation."""
    from utils.losses import batch_scores, bpr_loss, l2_penalty

    items = torch.cat([positives[:, None], negatives], dim=1)
    scores = batch_scores(user_final, item_final, users, items, dense_scores_limit=model.dense_scores_limit)
    penalty = l2_penalty(*model.layer0_tables(), users, positives, negatives, config.regularize)
    return bpr_loss(scores[:, :1], scores[:, 1:]) + config.weight_decay * penalty


def _adam_step(optimizer) -> None:
    optimizer.step()
    optimizer.zero_grad(set_to_none=True)


def _one_epoch_by_phase(trainer) -> dict[str, float]:
    model, device = trainer.model, trainer.device
    seconds = dict.fromkeys(PHASES, 0.0)
    seconds["sampling"], (users, positives, negatives) = _timed(device, trainer.sample_epoch)
    for start in trainer.batch_starts:
        batch = slice(start, start + trainer.batch_size)
        elapsed, (user_final, item_final) = _timed(device, model.get_embedding, trainer.adjacency)
        seconds["propagation forward"] += elapsed
        leaves = [user_final.detach().requires_grad_(), item_final.detach().requires_grad_()]
        elapsed, loss = _timed(device, _batch_loss, model, trainer.config, *leaves, users[batch], positives[batch], negatives[batch])
        seconds["scores and loss forward"] += elapsed
        seconds["scores and loss backward"] += _timed(device, loss.backward)[0]
        gradients = [leaf.grad for leaf in leaves]
        seconds["propagation backward"] += _timed(device, torch.autograd.backward, [user_final, item_final], gradients)[0]
        seconds["Adam"] += _timed(device, _adam_step, trainer.optimizer)[0]
    return seconds
