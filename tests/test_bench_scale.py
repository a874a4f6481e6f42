"""The measured ladder: the shaped synthetic pairs it measures on, its step clock, its JSON lines and
the fitted exponents. Timings are checked for sanity and consistency, never for what they round to."""

import json

import numpy as np
import pandas as pd
import pytest
import torch

from utils.datasets.base import per_user_split
from utils.datasets.synthetic import SHAPES, shaped_pairs, write_synthetic
from utils.lab import bench_scale
from utils.recipes import DEFAULT_RECIPE
from utils.training import Trainer

#: Every size line's keys (module docstring of utils.lab.bench_scale) and their types.
LINE_KEYS = {
    "dataset": str, "users": int, "movies": int, "ratings": int, "test_ratings": int, "device": str, "threads": int,
    "steps_timed": int, "build_seconds": float, "setup_seconds": float, "sampling_seconds": float,
    "steps_per_epoch": int, "step_seconds": dict, "seconds_per_epoch": float, "seconds_per_epoch_extrapolated": bool,
    "eval_setup_seconds": float, "eval_seconds": float, "eval_users": int, "recall@10": float, "ndcg@10": float,
    "train_peak_mb": float, "eval_peak_mb": float, "predicted_train_peak_mb": float, "predicted_eval_peak_mb": float,
    "train_process_peak_mb": float, "eval_process_peak_mb": float, "generate_seconds": float, "wall_seconds": float,
    "torch": str,
}  # fmt: skip


def keys_of(users, items, num_items):
    return np.asarray(users, dtype=np.int64) * num_items + np.asarray(items, dtype=np.int64)


@pytest.fixture(scope="module")
def ml1m():
    return shaped_pairs("ml-1m", seed=0)


def test_shaped_pairs_have_the_shape_of_ml_1m(ml1m):
    train_users, train_items, test_users, test_items, num_users, num_items = ml1m
    users, movies, ratings = SHAPES["ml-1m"]
    assert (num_users, num_items) == (users, movies)
    for array in ml1m[:4]:
        assert array.dtype == np.int64
    all_users, all_items = np.r_[train_users, test_users], np.r_[train_items, test_items]
    assert len(np.unique(all_users)) == users  # every user has 20 ratings or more
    assert abs(len(np.unique(all_items)) - movies) <= 0.03 * movies
    assert abs(len(all_users) - ratings) <= 0.02 * ratings
    assert all_users.min() >= 0 and all_users.max() < users and all_items.min() >= 0 and all_items.max() < movies


def test_shaped_pairs_are_distinct_split_per_user_and_long_tailed(ml1m):
    train_users, train_items, test_users, test_items, num_users, num_items = ml1m
    train, test = keys_of(train_users, train_items, num_items), keys_of(test_users, test_items, num_items)
    assert len(np.unique(train)) == len(train) and len(np.unique(test)) == len(test)
    assert len(np.intersect1d(train, test)) == 0
    assert np.all(np.diff(train) > 0) and np.all(np.diff(test) > 0)  # sorted by user, then movie
    train_counts = np.bincount(train_users, minlength=num_users)
    test_counts = np.bincount(test_users, minlength=num_users)
    total = train_counts + test_counts
    assert total.min() >= 20 and (train_counts > 0).all()
    assert np.array_equal(test_counts, np.maximum(1, np.floor(total * 0.2 + 1e-9)).astype(np.int64))
    assert total.max() > 8 * np.median(total)  # long-tailed users
    movie_counts = np.bincount(np.r_[train_items, test_items], minlength=num_items)
    assert movie_counts.max() > 20 * np.median(movie_counts[movie_counts > 0])  # long-tailed movies
    assert (movie_counts == 1).sum() >= 30  # the movies rated once, some of them in test only


def test_shaped_pairs_are_the_pairs_the_file_writer_writes(tmp_path):
    folder = write_synthetic(
        "ml-latest-small", tmp_path / "small", num_users=610, num_items=9_742, num_ratings=100_836, seed=3
    )
    written = pd.read_csv(folder / "ratings.csv")
    train_users, train_items, test_users, test_items, _, num_items = shaped_pairs("ml-latest-small", seed=3)
    ours = np.sort(keys_of(np.r_[train_users, test_users], np.r_[train_items, test_items], num_items))
    assert np.array_equal(ours, np.sort(keys_of(written["userId"] - 1, written["movieId"] - 1, num_items)))
    assert not np.array_equal(ours, np.sort(keys_of(*shaped_pairs("ml-latest-small", seed=4)[:2], num_items)))


def test_shaped_pairs_split_is_the_datasets_random_split():
    train_users, train_items, test_users, test_items, _, _ = shaped_pairs((300, 200, 9_000), seed=1, test_per_user=0.25)
    frame = pd.DataFrame({"user_id": np.r_[train_users, test_users], "item_id": np.r_[train_items, test_items]})
    train, test = per_user_split(frame, test_share=0.25)
    assert np.array_equal(train["user_id"], train_users) and np.array_equal(train["item_id"], train_items)
    assert np.array_equal(test["user_id"], test_users) and np.array_equal(test["item_id"], test_items)


def test_shaped_pairs_refuses_what_it_cannot_make():
    with pytest.raises(ValueError, match="unknown shape"):
        shaped_pairs("ml-3m")
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        shaped_pairs((100, 50, 3_000), test_per_user=1.5)


def test_resolve_size():
    assert bench_scale.resolve_size("ml-25m") == SHAPES["ml-25m"]
    assert bench_scale.resolve_size("quick-20k") == bench_scale.QUICK_SIZES["quick-20k"]
    assert bench_scale.resolve_size("1000x800x40000") == (1000, 800, 40_000)
    with pytest.raises(ValueError, match="unknown size"):
        bench_scale.resolve_size("ml-3m")


def test_step_clock_splits_the_trainers_own_step_and_restores_it():
    train_users, train_items, _, _, num_users, num_items = shaped_pairs((200, 150, 6_000))
    from utils.graph import normalized_bipartite_adjacency

    adjacency = normalized_bipartite_adjacency(train_users, train_items, num_users, num_items)
    trainer = Trainer(DEFAULT_RECIPE.build_model(num_users, num_items), adjacency, train_users, train_items,
                      DEFAULT_RECIPE.config.replace(batch_size=1024), device="cpu")  # fmt: skip
    before = trainer.model.user_embedding.weight.detach().clone()
    users, positives, negatives = trainer.sample_epoch()
    clock = bench_scale.StepClock(trainer, lambda: None)
    parts = clock.time_step(users[:1024], positives[:1024], negatives[:1024])
    clock.restore()
    assert set(parts) == {*bench_scale.STEP_PARTS, "total"}
    assert all(value > 0 for value in parts.values())
    assert 0.7 * parts["total"] <= sum(parts[name] for name in bench_scale.STEP_PARTS) <= parts["total"]
    assert not torch.equal(before, trainer.model.user_embedding.weight)  # a real step was taken
    for owner, name in ((trainer.model, "get_embedding"), (trainer.model, "loss"), (trainer.optimizer, "step")):
        assert name not in vars(owner)  # the wrappers are gone


def test_fit_exponents():
    lines = [{"dataset": str(r), "ratings": r, "seconds_per_epoch": 3.0 * r, "eval_seconds": 2e-6 * r**2,
              "step_seconds": {"total": 5.0}} for r in (1_000, 10_000, 100_000)]  # fmt: skip
    fitted = bench_scale.fit_exponents([*lines, {"dataset": "broken", "error": "stopped"}])
    assert fitted["exponents"]["seconds_per_epoch"] == pytest.approx(1.0)
    assert fitted["exponents"]["eval_seconds"] == pytest.approx(2.0)
    assert fitted["exponents"]["step_seconds.total"] == pytest.approx(0.0)
    assert fitted["exponents"]["train_peak_mb"] is None  # measured by none of the lines
    assert fitted["sizes"] == ["1000", "10000", "100000"]
    assert bench_scale.fit_exponents(lines[:1])["exponents"]["seconds_per_epoch"] is None


def test_quick_ladder_prints_one_sane_line_per_size_then_the_exponents(capsys):
    returned = bench_scale.main(["--quick", "--device", "cpu"])
    printed = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert printed == returned and len(printed) == len(bench_scale.QUICK_SIZES) + 1
    *sizes, last = printed
    for line, (name, (users, movies, ratings)) in zip(sizes, bench_scale.QUICK_SIZES.items()):
        assert "error" not in line, line
        assert set(line) == set(LINE_KEYS)
        for key, kind in LINE_KEYS.items():
            assert isinstance(line[key], kind), (key, line[key])
        assert (line["dataset"], line["users"], line["movies"], line["device"]) == (name, users, movies, "cpu")
        assert abs(line["ratings"] + line["test_ratings"] - ratings) <= 0.02 * ratings
        assert 0.15 < line["test_ratings"] / (line["ratings"] + line["test_ratings"]) < 0.25
        assert line["steps_timed"] == 1 and line["steps_per_epoch"] == -(
            -line["ratings"] // DEFAULT_RECIPE.config.batch_size
        )
        step = line["step_seconds"]
        assert set(step) == {*bench_scale.STEP_PARTS, "total"} and all(value > 0 for value in step.values())
        assert 0.7 * step["total"] <= sum(step[name] for name in bench_scale.STEP_PARTS) <= step["total"] * 1.001
        for key in ("build_seconds", "setup_seconds", "sampling_seconds", "eval_setup_seconds", "eval_seconds"):
            assert line[key] > 0, key
        expected = line["sampling_seconds"] + line["steps_per_epoch"] * step["total"]
        assert line["seconds_per_epoch"] == pytest.approx(expected, rel=0.01, abs=0.002)
        assert line["eval_users"] == users and 0 <= line["recall@10"] <= 1 and 0 <= line["ndcg@10"] <= 1
        for phase in ("train", "eval"):
            assert 0 < line[f"{phase}_peak_mb"] < line[f"{phase}_process_peak_mb"]
            assert line[f"predicted_{phase}_peak_mb"] > 0
        assert line["threads"] >= 1 and line["torch"] == torch.__version__
    assert set(last["exponents"]) == set(bench_scale.EXPONENT_KEYS)
    assert all(isinstance(value, float) for value in last["exponents"].values())
    assert last["sizes"] == list(bench_scale.QUICK_SIZES) and last["against"] == "ratings"


def test_a_failed_size_prints_an_error_line():
    line = bench_scale.run_size("quick-20k", timeout=0.01)
    assert line == {"dataset": "quick-20k", "error": "stopped after 0 s"}


def test_parse_args():
    args = bench_scale.parse_args(["--quick"])
    assert args.sizes == list(bench_scale.QUICK_SIZES) and args.steps == 1
    args = bench_scale.parse_args(["--device", "cpu"])
    assert args.sizes == list(bench_scale.DEFAULT_SIZES) and args.steps == bench_scale.DEFAULT_STEPS
    for bad in (["--sizes", "ml-3m"], ["--steps", "0"]):
        with pytest.raises(SystemExit):
            bench_scale.parse_args(bad)
