"""What one training step calls: PyTorch operators, and on CUDA kernel launches and host syncs.

The benchmark (:mod:`utils.lab.bench`) hands :func:`count_per_step` a *step runner*: a function of no
arguments that takes some real training steps of an already trained model (our
:meth:`utils.training.Trainer.step`, PyG's :func:`utils.lab.pyg_example.pyg_train_epoch`) and returns
how many it took. :func:`warm_up` runs callables like that once before anything is timed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

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
