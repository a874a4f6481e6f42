"""Data-parallel training: 2 gloo processes on the CPU train what one process trains, from the same seed."""

import contextlib
import io
import json
import os
import socket
import time
from datetime import timedelta

import numpy as np
import pytest
import torch
import torch.distributed as dist

from utils.checkpoints import load_checkpoint
from utils.graph import normalized_bipartite_adjacency
from utils.lab import distributed
from utils.lab.distributed import DataParallelTrainer, share_bounds, train_data_parallel
from utils.models import LightGCN
from utils.training import TrainConfig, seed_everything, train_model

needs_gloo = pytest.mark.skipif(
    not (dist.is_available() and dist.is_gloo_available()),
    reason="torch.distributed with the gloo backend is not available",
)

NUM_USERS, NUM_ITEMS = 40, 30
BASE = {"learning_rate": 0.05, "weight_decay": 1e-2, "negatives_per_positive": 2, "eval_every": 0, "seed": 3}
#: name: (number of training pairs, config). "even": 5 batches of 64, shares of 32. "uneven": batches
#: of 45 (shares of 22 and 23) and a last batch of 1 (rank 0's share empty). "tables": the L2 term on
#: the whole tables, a cosine schedule, a last batch of 5. "full": one odd full batch per epoch.
CASES = {
    "even": (320, {**BASE, "epochs": 3, "batch_size": 64}),
    "uneven": (316, {**BASE, "epochs": 3, "batch_size": 45}),
    "tables": (
        320,
        {**BASE, "epochs": 2, "batch_size": 45, "regularize": "tables", "cosine_decay": True, "weight_decay": 1e-4},
    ),
    "full": (315, {**BASE, "epochs": 3, "batch_size": None}),
}


def random_pairs(num_pairs: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``num_pairs`` distinct (user, movie) pairs of a small random graph, every user and movie present."""
    rng = np.random.default_rng(seed)
    cells = rng.permutation(NUM_USERS * NUM_ITEMS)
    covering = np.arange(NUM_USERS) * NUM_ITEMS + np.arange(NUM_USERS) % NUM_ITEMS  # each user, each movie once
    cells = np.concatenate([covering, np.setdiff1d(cells, covering, assume_unique=True)[: 320 - NUM_USERS]])
    cells = cells[:num_pairs]
    return cells // NUM_ITEMS, cells % NUM_ITEMS


def build_model(seed: int) -> LightGCN:
    seed_everything(seed)
    return LightGCN(NUM_USERS, NUM_ITEMS, embedding_dim=8, num_layers=2)


def single_process_run(num_pairs: int, config: dict) -> tuple[LightGCN, list[dict]]:
    users, items = random_pairs(num_pairs)
    adjacency = normalized_bipartite_adjacency(users, items, NUM_USERS, NUM_ITEMS)
    model = build_model(config["seed"])
    history = train_model(model, adjacency, users, items, TrainConfig(**config), device="cpu", progress=False)
    return model, history.rows


def counting(loss):
    """``loss`` that also records the number of rows of every batch it is given; and that record."""
    sizes = []

    def counted(adjacency, users, *args, **kwargs):
        sizes.append(len(users))
        return loss(adjacency, users, *args, **kwargs)

    return counted, sizes


def _worker(rank: int, world_size: int, port: int, out_dir: str, main_argv: list[str]) -> None:
    """One of the processes: every case of CASES, then ``utils.lab.distributed.main`` on the same process group."""
    torch.set_num_threads(1)
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world_size), LOCAL_RANK=str(rank)
    )
    distributed.init_from_environment("gloo", timeout=timedelta(seconds=60))
    try:
        results = {}
        for name, (num_pairs, config) in CASES.items():
            users, items = random_pairs(num_pairs)
            adjacency = normalized_bipartite_adjacency(users, items, NUM_USERS, NUM_ITEMS)
            # Rank 1 starts from other weights: the broadcast from rank 0 must make them equal.
            model = build_model(config["seed"] + rank)
            model.loss, share_sizes = counting(model.loss)
            history = train_data_parallel(
                model, adjacency, users, items, TrainConfig(**config), rank, world_size, "cpu"
            )
            results[name] = {
                "state": {k: v.clone() for k, v in model.state_dict().items()},
                "rows": history.rows,
                "shares": share_sizes,
            }
        torch.save(results, os.path.join(out_dir, f"rank{rank}.pt"))
        with contextlib.redirect_stdout(io.StringIO()) as printed:
            line = distributed.main(main_argv)  # finds the process group initialised, and destroys it at the end
        with open(os.path.join(out_dir, f"main{rank}.json"), "w") as file:
            json.dump({"returned": line, "printed": printed.getvalue()}, file)
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_two_processes(out_dir, main_argv, limit_s: float = 120.0) -> None:
    import torch.multiprocessing as mp

    context = mp.spawn(_worker, args=(2, free_port(), str(out_dir), main_argv), nprocs=2, join=False)
    deadline = time.monotonic() + limit_s
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                if process.is_alive():
                    process.kill()
            pytest.fail(f"the 2 processes did not finish within {limit_s:.0f} s")


@needs_gloo
def test_two_gloo_processes_train_what_one_process_trains(tmp_path, synthetic_dir, monkeypatch):
    checkpoint = tmp_path / "ddp.pt"
    argv = [
        "--recipe",
        "default",
        "--epochs",
        "2",
        "--data-dir",
        str(synthetic_dir),
        "--backend",
        "gloo",
        "--checkpoint",
        str(checkpoint),
    ]
    run_two_processes(tmp_path, argv)
    ranks = [torch.load(tmp_path / f"rank{rank}.pt", weights_only=False) for rank in range(2)]
    for name, (num_pairs, config) in CASES.items():
        reference, rows = single_process_run(num_pairs, config)
        for rank, results in enumerate(ranks):
            got = results[name]
            for key, tensor in reference.state_dict().items():
                torch.testing.assert_close(
                    got["state"][key], tensor, atol=1e-5, rtol=1e-5, msg=f"{name}, rank {rank}: {key}"
                )
            assert [row["epoch"] for row in got["rows"]] == [row["epoch"] for row in rows]
            for column in ("loss", "bpr"):
                np.testing.assert_allclose(
                    [r[column] for r in got["rows"]], [r[column] for r in rows], rtol=1e-5, err_msg=f"{name} {column}"
                )
        # Both processes hold the very same weights (the same summed gradient, the same Adam step) ...
        for key in reference.state_dict():
            assert torch.equal(ranks[0][name]["state"][key], ranks[1][name]["state"][key]), (name, key)
        # ... and each computed the loss on its own share of every batch only.
        batch = config["batch_size"] or num_pairs
        lengths = [min(batch, num_pairs - start) for start in range(0, num_pairs, batch)]
        for rank in range(2):
            expected = [stop - start for start, stop in (share_bounds(n, rank, 2) for n in lengths) if stop > start]
            assert ranks[rank][name]["shares"] == expected * config["epochs"], (name, rank)
    assert ranks[0]["uneven"]["shares"] == [22] * 7 * 3 and ranks[1]["uneven"]["shares"] == ([23] * 7 + [1]) * 3

    # The command line: rank 0 prints one JSON line and saves the checkpoint; it equals one process's run.
    zero, one = (json.loads((tmp_path / f"main{rank}.json").read_text()) for rank in range(2))
    assert one == {"returned": None, "printed": ""}
    line = zero["returned"]
    # (under `make test` a finished progress bar is printed before it: LIGHTGCN_SAVED_OUTPUT)
    assert json.loads(zero["printed"].strip().splitlines()[-1]) == line
    assert (line["recipe"], line["world_size"], line["backend"], line["device"], line["epochs"]) == (
        "default",
        2,
        "gloo",
        "cpu",
        2,
    )
    assert {"recall@10", "ndcg@10", "recall@20"} <= set(line) and line["checkpoint"] == str(checkpoint)
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    with contextlib.redirect_stdout(io.StringIO()):
        single = distributed.main([*argv[:-1], str(tmp_path / "single.pt")])
    assert single["world_size"] == 1 and single["loss"] == pytest.approx(line["loss"], rel=1e-5)
    (two_model, config, history), (one_model, _, _) = (
        load_checkpoint(checkpoint),
        load_checkpoint(tmp_path / "single.pt"),
    )
    assert config.epochs == 2 and len(history.rows) == 2
    for key, tensor in one_model.state_dict().items():
        torch.testing.assert_close(two_model.state_dict()[key], tensor, atol=1e-5, rtol=1e-5)


def test_one_process_is_exactly_the_trainer():
    num_pairs, config = CASES["uneven"]
    reference, rows = single_process_run(num_pairs, config)
    users, items = random_pairs(num_pairs)
    adjacency = normalized_bipartite_adjacency(users, items, NUM_USERS, NUM_ITEMS)
    model = build_model(config["seed"])
    history = train_data_parallel(
        model, adjacency, users, items, TrainConfig(**config), rank=0, world_size=1, device="cpu"
    )
    assert [{k: v for k, v in row.items() if k not in ("seconds", "train_seconds")} for row in history.rows] == [
        {k: v for k, v in row.items() if k not in ("seconds", "train_seconds")} for row in rows
    ]
    for key, tensor in reference.state_dict().items():
        assert torch.equal(model.state_dict()[key], tensor)


def test_shares_are_contiguous_and_cover_every_batch():
    for length in (1, 2, 7, 45, 64):
        for world_size in (1, 2, 3, 8):
            bounds = [share_bounds(length, rank, world_size) for rank in range(world_size)]
            assert bounds[0][0] == 0 and bounds[-1][1] == length
            assert all(a[1] == b[0] for a, b in zip(bounds, bounds[1:]))
            sizes = [stop - start for start, stop in bounds]
            assert max(sizes) - min(sizes) <= 1


def _trainer(config: TrainConfig, rank: int, world_size: int, num_pairs: int = 320):
    users, items = random_pairs(num_pairs)
    adjacency = normalized_bipartite_adjacency(users, items, NUM_USERS, NUM_ITEMS)
    return DataParallelTrainer(build_model(0), adjacency, users, items, config, rank, world_size, "cpu")


def test_errors_say_what_to_fix(monkeypatch):
    with pytest.raises(
        ValueError, match=r"a batch of 1 triples cannot be shared among 2 processes.*batch_size of 2 or more"
    ):
        _trainer(TrainConfig(batch_size=1), 0, 2)
    with pytest.raises(ValueError, match=r"a batch of 3 triples cannot be shared among 4 processes"):
        _trainer(TrainConfig(batch_size=None), 0, 4, num_pairs=3)  # full batch of 3 pairs
    with pytest.raises(ValueError, match="rank must lie in 0..world_size-1"):
        _trainer(TrainConfig(batch_size=64), 2, 2)
    with pytest.raises(ValueError, match="early stopping"):
        _trainer(TrainConfig(batch_size=64, patience=2), 0, 2)
    if dist.is_available() and not dist.is_initialized():
        with pytest.raises(RuntimeError, match="no process group is initialised.*torchrun --nproc_per_node=N"):
            _trainer(TrainConfig(batch_size=64), 0, 2)
    monkeypatch.setattr(distributed.dist, "is_available", lambda: False)
    with pytest.raises(
        RuntimeError, match="2 processes were asked for, but this PyTorch build has no torch.distributed"
    ):
        _trainer(TrainConfig(batch_size=64), 1, 2)
    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(RuntimeError, match="WORLD_SIZE is 2, but this PyTorch build has no torch.distributed"):
        distributed.init_from_environment("gloo")
    _trainer(TrainConfig(batch_size=64), 0, 1)  # one process needs no torch.distributed


def test_a_loss_that_couples_the_rows_of_a_batch_is_refused_before_training():
    """SimGCL's and DirectAU's losses compare the rows of a batch: shared among processes they would
    train another objective, so data-parallel training refuses them (one process is fine)."""
    from utils import models

    users, items = random_pairs(320)
    adjacency = normalized_bipartite_adjacency(users, items, NUM_USERS, NUM_ITEMS)

    def trainer(model, world_size):
        return DataParallelTrainer(model, adjacency, users, items, TrainConfig(batch_size=64), 0, world_size, "cpu")

    class Coupled(LightGCN):  # not registered: its loss is unknown to the trainer
        def loss(self, *args, **kwargs):
            return super().loss(*args, **kwargs)

    for model_class in (models.SimGCL, models.DirectAULightGCN, Coupled):
        model = model_class(NUM_USERS, NUM_ITEMS, embedding_dim=8, num_layers=2)
        with pytest.raises(ValueError, match=rf"(?s){model_class.__name__}'s loss is not known to be a mean.*Fix: train it in one process"):
            trainer(model, 2)
        trainer(model, 1)  # one process trains exactly its objective

    class Softer(models.SoftmaxLightGCN):  # inherits a row-mean loss
        pass

    for model_class in (LightGCN, models.NGCFStyle, models.SoftmaxLightGCN, models.LightGCNOnEASE, Softer):
        assert distributed.loss_is_row_mean(model_class(NUM_USERS, NUM_ITEMS, embedding_dim=8, num_layers=2)), model_class


def test_launch_runs_one_process_and_torchrun_and_they_agree(synthetic):
    arguments = ("--recipe", "default", "--epochs", "1", "--no-checkpoint", "--data-dir", str(synthetic.data_dir))
    one, two = distributed.launch(1, *arguments), distributed.launch(2, *arguments)
    assert one["world_size"] == 1 and two["world_size"] == 2 and one["wall_seconds"] > 0
    assert two["recall@10"] == pytest.approx(one["recall@10"], abs=1e-3) and two["loss"] == pytest.approx(one["loss"], rel=1e-4)
    with pytest.raises(RuntimeError, match="failed"):
        distributed.launch(1, "--recipe", "no-such-recipe", attempts=1)


def _no_training(*args, **kwargs):
    raise AssertionError("training started although the input was bad")


@pytest.mark.parametrize(
    ("argv", "environment", "message"),
    [
        (["--epochs", "0"], {}, r"^error: --epochs must be 1 or more, got 0\. Fix: .*--epochs 5, or leave --epochs out"),
        (["--epochs", "-1"], {}, r"^error: --epochs must be 1 or more, got -1\. Fix"),
        pytest.param(["--backend", "nccl"], {}, r"^error: --backend nccl trains on CUDA GPUs, and PyTorch sees none.*Fix: --backend gloo",
                     marks=pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has a GPU")),
        ([], {"WORLD_SIZE": "abc"}, r"^error: the environment variable WORLD_SIZE is 'abc'; it must be a whole number 1 or more\. Fix: launch with `torchrun"),
        ([], {"WORLD_SIZE": "0"}, r"^error: the environment variable WORLD_SIZE is '0'"),
        ([], {"LOCAL_RANK": "first"}, r"^error: the environment variable LOCAL_RANK is 'first'"),
        ([], {"WORLD_SIZE": "2", "RANK": "2"}, r"^error: RANK is 2 but WORLD_SIZE is 2: ranks run from 0 to WORLD_SIZE - 1\. Fix"),
        ([], {"WORLD_SIZE": "2"}, r"^error: WORLD_SIZE is 2, but MASTER_ADDR and MASTER_PORT are not set.*Fix: launch with `torchrun --nproc_per_node=2"),
        ([], {"WORLD_SIZE": "2", "MASTER_PORT": "29500"}, r"^error: WORLD_SIZE is 2, but MASTER_ADDR is not set"),
        (["--checkpoint", "{a_file}/m.pt"], {}, r"^error: cannot save a checkpoint at .*a_file/m\.pt: .*a_file is not a folder\. Fix: .*--no-checkpoint"),
    ],
    ids=["epochs-0", "epochs-negative", "nccl-without-gpu", "world-abc", "world-0", "local-rank", "rank-out-of-range",
         "no-master", "no-master-addr", "unwritable-checkpoint"],
)  # fmt: skip
def test_bad_values_end_with_one_error_line_before_any_work(argv, environment, message, synthetic_dir, tmp_path, monkeypatch):
    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    (tmp_path / "a_file").write_text("")
    argv = [argument.format(a_file=tmp_path / "a_file") for argument in argv]
    monkeypatch.setattr(distributed, "train_data_parallel", _no_training)
    with pytest.raises(SystemExit, match=message):
        distributed.main([*argv, "--data-dir", str(synthetic_dir), *([] if "--checkpoint" in argv else ["--no-checkpoint"])])


def test_an_argument_error_is_reported_by_rank_0_alone(monkeypatch, capsys):
    """Every process finds a bad argument alike: the others end with status 1 and say nothing."""
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "1")
    with pytest.raises(SystemExit) as stopped:
        distributed.main(["--epochs", "0"])
    assert stopped.value.code == 1 and capsys.readouterr().err == ""


def test_the_result_line_is_printed_before_a_save_that_fails(synthetic_dir, tmp_path, monkeypatch, capsys):
    from utils import checkpoints

    def disk_full(path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    for name in ("WORLD_SIZE", "RANK", "LOCAL_RANK"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(checkpoints, "save_checkpoint", disk_full)
    path = tmp_path / "m.pt"
    with pytest.raises(SystemExit, match=rf"^error: the run above finished, but its checkpoint could not be saved at {path} .*No space left"):
        distributed.main(["--epochs", "1", "--data-dir", str(synthetic_dir), "--checkpoint", str(path)])
    line = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert line["epochs"] == 1 and "recall@10" in line and line["checkpoint"] == str(path)


@needs_gloo
def test_under_torchrun_the_first_line_is_the_error(tmp_path):
    """torchrun adds its own report of the failed process (a ChildFailedError traceback) after the
    child's line; the user's first sight is the one error line, printed once."""
    import subprocess
    import sys
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    environment = {**os.environ, "PYTHONPATH": str(root), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", f"--master_port={free_port()}",
               "-m", "utils.lab.distributed", "--epochs", "0", "--backend", "gloo", "--no-checkpoint"]  # fmt: skip
    done = subprocess.run(command, cwd=root, env=environment, capture_output=True, text=True, timeout=120, check=False)  # noqa: S603
    lines = done.stderr.splitlines()
    assert done.returncode != 0 and done.stdout == ""
    assert lines[0].startswith("error: --epochs must be 1 or more, got 0. Fix:"), done.stderr[:2000]
    assert sum(line.startswith("error:") for line in lines) == 1
