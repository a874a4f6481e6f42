"""The memory model: each formula against the tensors the code really allocates (their storages, or
torch's allocator profiled), and the predicted peaks against measured peak RSS on three sizes."""

import importlib
import sys

import numpy as np
import pytest
import torch

from utils import training
from utils.baselines import ease_item_weights
from utils.graph import normalized_bipartite_adjacency
from utils.lab import memory
from utils.metrics import RankingEvaluator
from utils.models import LightGCN
from utils.recipes import DEFAULT_RECIPE
from utils.training import NegativeSampler, TrainConfig, Trainer


def storage_bytes(*tensors: torch.Tensor) -> int:
    """Bytes of the distinct storages behind ``tensors``: what they keep alive, views included."""
    storages = {t.untyped_storage().data_ptr(): t.untyped_storage().nbytes() for t in tensors}
    return sum(storages.values())


def torch_peak(fn, *args, **kwargs) -> int:
    """Peak of torch's CPU allocator above its level before ``fn`` (in this process)."""
    return memory._torch_peak(fn, args, kwargs)


@pytest.fixture(scope="module")
def small():
    """A long-tailed graph: 400 users, 300 movies, 6000 ratings; split 5000 / 1000."""
    users, items = memory.long_tailed_pairs(400, 300, 6000, seed=1)
    return 400, 300, users, items


def test_long_tailed_pairs_are_distinct_and_reach_the_last_user():
    users, items = memory.long_tailed_pairs(50, 40, 600, seed=3)
    assert len(users) == 600 and users.dtype == np.int64
    assert len(np.unique(users * 40 + items)) == 600
    assert users.max() == 49 and items.max() == 39
    counts = np.bincount(users, minlength=50)
    assert counts.max() > 3 * np.median(counts)  # long-tailed users


def test_adjacency_bytes_are_its_storages(small):
    U, I, users, items = small
    adjacency = normalized_bipartite_adjacency(users, items, U, I)
    assert adjacency.layout == torch.sparse_csr and adjacency._nnz() == 2 * len(users)
    held = storage_bytes(adjacency.crow_indices(), adjacency.col_indices(), adjacency.values())
    # col_indices is a view of the COO's 2 × E index tensor: its row indices are held too.
    assert held == memory.predict(U, I, len(users))["adjacency"], "utils.graph changed Â's layout: update memory.predict"
    assert held == 8 * (U + I + 1) + 16 * adjacency._nnz() + 4 * adjacency._nnz()


def test_adjacency_build_peak():
    users, items = memory.long_tailed_pairs(2000, 1000, 50_000, seed=2)
    peak = torch_peak(normalized_bipartite_adjacency, users, items, 2000, 1000)
    assert peak == pytest.approx(memory.predict(2000, 1000, 50_000)["adjacency_build"], rel=0.05)


def test_tables_gradients_and_adam_state_after_one_real_step(small):
    U, I, users, items = small
    model = LightGCN(U, I, embedding_dim=16, num_layers=2)
    adjacency = normalized_bipartite_adjacency(users, items, U, I)
    trainer = Trainer(model, adjacency, users, items, TrainConfig(batch_size=512), device="cpu")
    batch_users, positives, negatives = trainer.sample_epoch()
    trainer.step(batch_users[:512], positives[:512], negatives[:512])
    parameters = list(model.parameters())
    states = [t for p in parameters for t in trainer.optimizer.state[p].values() if torch.is_tensor(t)]
    predicted = memory.predict(U, I, len(users), {"embedding_dim": 16, "num_layers": 2})
    assert sum(p.nbytes for p in parameters) == predicted["embeddings"]
    assert sum(p.grad.nbytes for p in parameters) == predicted["gradients"]
    assert sum(t.nbytes for t in states) == predicted["adam"]
    predicted64 = memory.predict(U, I, len(users), {"embedding_dim": 16}, dtype=torch.float64)
    assert predicted64["embeddings"] == 2 * predicted["embeddings"]


def test_sampler_structure_on_both_paths(small):
    U, I, users, items = small
    dense = NegativeSampler(users, items, I)
    assert dense._rated is not None and dense._rated.nbytes == memory.predict(U, I, len(users))["sampler"] == U * I
    searched = NegativeSampler(users, items, I, dense_lookup_limit=0)
    assert searched._positive_keys.nbytes == memory.predict(U, I, len(users), dense_lookup_limit=0)["sampler"] == 8 * len(users)


@pytest.mark.parametrize("dense_lookup", [True, False])
def test_epoch_samples_and_sampling_peak(small, dense_lookup):
    U, I, users, items = small
    limit = training.DENSE_LOOKUP_LIMIT if dense_lookup else 0
    adjacency = normalized_bipartite_adjacency(users, items, U, I)
    trainer = Trainer(DEFAULT_RECIPE.build_model(U, I), adjacency, users, items, DEFAULT_RECIPE.config, device="cpu")
    trainer.sampler = NegativeSampler(users, items, I, dense_lookup_limit=limit)
    predicted = memory.predict(U, I, len(users), dense_lookup_limit=limit)
    assert sum(t.nbytes for t in trainer.sample_epoch()) == predicted["epoch_samples"]
    assert sum(t.nbytes for t in (trainer.users, trainer.items)) == predicted["pairs"]
    # The rejection rounds redraw a few percent of the negatives: a little above the formula.
    assert torch_peak(trainer.sample_epoch) == pytest.approx(predicted["sampling"], rel=0.03)


@pytest.mark.parametrize(
    "shape, dominant, batch_size",
    [((300, 200, 6000), "batch_scores", None),  # dense scores: 300 users × 200 movies
     ((3000, 2000, 30_000), "batch_scores", None),  # gather path: 3000 distinct users × 2000 movies > limit
     ((40_000, 5000, 60_000), "propagation", 8192)],  # many nodes, smaller batches: the K + 1 layers dominate
)  # fmt: skip
def test_step_peak_is_the_largest_of_propagation_scores_and_adam(shape, dominant, batch_size):
    U, I, R = shape
    users, items = memory.long_tailed_pairs(U, I, R, seed=4)
    adjacency = normalized_bipartite_adjacency(users, items, U, I)
    config = DEFAULT_RECIPE.config.replace(batch_size=batch_size or DEFAULT_RECIPE.config.batch_size)
    trainer = Trainer(DEFAULT_RECIPE.build_model(U, I), adjacency, users, items, config, device="cpu")
    batch_users, positives, negatives = trainer.sample_epoch()
    batch = slice(0, trainer.batch_size)
    trainer.step(batch_users[batch], positives[batch], negatives[batch])  # Adam's state and the gradients exist now
    predicted = memory.predict(U, I, R, config)
    assert predicted["step"] == predicted[dominant]
    peak = torch_peak(trainer.step, batch_users[batch], positives[batch], negatives[batch])
    assert peak == pytest.approx(predicted["step"], rel=0.1)
    if dominant == "propagation":  # K + 4 tables of (U + I) × d
        assert predicted["propagation"] == 7 * (U + I) * 64 * 4 and peak == pytest.approx(predicted["propagation"], rel=0.02)


def test_evaluator_state_and_build(small):
    U, I, users, items = small
    test, train = slice(0, 1000), slice(1000, None)
    evaluator = RankingEvaluator(users[train], items[train], users[test], items[test], U, I)
    predicted = memory.predict(U, I, 5000, num_test_ratings=1000)
    state = (evaluator._train_indptr, evaluator._train_indices, evaluator._test_keys, evaluator.num_relevant, evaluator.users)
    held = sum(t.nbytes for t in state)
    assert held <= predicted["evaluator"] and held == predicted["evaluator"] - 8 * (min(U, 1000) - len(evaluator.users))
    peak = torch_peak(RankingEvaluator, users[train], items[train], users[test], items[test], U, I)
    assert peak == pytest.approx(predicted["evaluator_build"], rel=0.15)


def test_ease_item_matrix_fit_peak_and_guard():
    users, items = memory.long_tailed_pairs(120, 90, 1500, seed=5)
    predicted = memory.predict(120, 90, 1500)
    weights = ease_item_weights(users, items, 120, 90, 50.0)
    assert weights.nbytes == predicted["item_item"] == 8 * 90 * 90
    assert torch_peak(ease_item_weights, users, items, 120, 90, 50.0) == predicted["ease_fit"]
    with pytest.raises(ValueError, match="EASE needs dense 90 × 90"):
        ease_item_weights(users, items, 120, 90, 50.0, memory_limit_bytes=8 * 90 * 90 - 1)


def test_cuda_totals_leave_the_host_structures_out():
    cpu, gpu = memory.predict(6040, 3706, 800_000), memory.predict(6040, 3706, 800_000, device="cuda")
    assert gpu["adjacency"] == cpu["adjacency"] - 8 * 2 * 800_000  # the copy drops the COO's row indices
    assert gpu["optimizer_step"] == 0 and gpu["batch_scores"] > cpu["embeddings"]
    assert gpu["train_peak"] == gpu["adjacency"] + 4 * cpu["embeddings"] + 8 + gpu["epoch_samples"] + gpu["step"]


# Three sizes; each brings a different part to the top: dense scores and the dense lookup (50K);
# the gather path and a 24 MB dense lookup table (200K); the sorted-keys lookup (60 000 × 2000
# cells is above DENSE_LOOKUP_LIMIT) and the sampling of the epoch (500K).
SIZES = memory.CHECK_SIZES
WARM_UP = (*memory.long_tailed_pairs(50, 60, 500), 50, 60)


@pytest.mark.parametrize("shape", SIZES, ids=[f"{r // 1000}K" for _, _, r in SIZES])
def test_predicted_training_peak_matches_measured_rss(shape):
    U, I, R = shape
    users, items = memory.long_tailed_pairs(U, I, R)
    measured = memory.measure_peak(memory.run_training, users, items, U, I, warm_up=WARM_UP)
    predicted = memory.predict(U, I, R)["train_peak"]
    assert measured == pytest.approx(predicted, rel=0.25), f"measured {measured / 1e6:.1f} MB, predicted {predicted / 1e6:.1f} MB"


def test_predicted_evaluation_peak_matches_measured_rss():
    U, I, R = 12_000, 12_000, 240_000
    users, items = memory.long_tailed_pairs(U, I, R)
    T = R // 5
    measured = memory.measure_peak(memory.run_evaluation, users[T:], items[T:], users[:T], items[:T], U, I,
                                   warm_up=(*WARM_UP[:2], *WARM_UP))  # fmt: skip
    predicted = memory.predict(U, I, R - T, num_test_ratings=T)["eval_peak"]
    assert measured == pytest.approx(predicted, rel=0.25), f"measured {measured / 1e6:.1f} MB, predicted {predicted / 1e6:.1f} MB"


def test_measure_peak_sees_numpy_and_reports_errors():
    assert memory.measure_peak(np.ones, 25_000_000) == pytest.approx(200e6, rel=0.05)  # numpy: not torch's allocator
    assert torch_peak(torch.ones, 25_000_000) == 100_000_000
    with pytest.raises(RuntimeError, match="negative dimensions"):
        memory.measure_peak(np.ones, -1)


def test_peak_rss_falls_back_to_getrusage_without_proc(monkeypatch):
    """macOS and the BSDs have no /proc: the peak comes from getrusage (KiB on Linux, bytes on macOS)."""
    resource = pytest.importorskip("resource")  # POSIX only
    monkeypatch.setattr(memory, "_status_kib", lambda field: None)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert memory.peak_rss_bytes() == (peak if sys.platform == "darwin" else 1024 * peak) > 0


def test_memory_imports_without_resource_and_says_it_cannot_measure_rss(monkeypatch):
    """Windows has neither the `resource` module nor /proc: the module imports, peak_rss_bytes is
    None, measuring the resident set fails with the reason and the alternative, method='torch' works."""
    try:
        with monkeypatch.context() as patch:
            patch.setitem(sys.modules, "resource", None)  # `import resource` raises ImportError
            windows = importlib.reload(memory)
            assert windows.resource is None
            patch.setattr(windows, "_status_kib", lambda field: None)  # and no /proc/self/status
            assert windows.peak_rss_bytes() is None
            with pytest.raises(RuntimeError, match=r"reports no peak resident memory.*method='torch'"):
                windows.measure_here(np.ones, (1000,), {}, None, "rss")
            with pytest.raises(RuntimeError, match="reports no peak resident memory"):
                windows.measure_peak(np.ones, 1000)  # refused before a child process starts
            assert windows.measure_here(torch.ones, (25_000,), {}, None, "torch") == 100_000
    finally:
        importlib.reload(memory)  # the real `resource` again, for the other tests
    assert memory.resource is sys.modules.get("resource")


def test_largest_ratings_is_where_the_budget_is_reached():
    shape = (200_948, 87_585, 32_000_204)
    ratings = memory.largest_ratings(shape, 24e9, "train_peak")
    scale = ratings / shape[2]
    for factor, fits in ((0.999, True), (1.01, False)):
        users, items, total = (int(x * scale * factor) for x in shape)
        test = round(total * memory.TEST_SHARE)
        assert (memory.predict(users, items, total - test, num_test_ratings=test)["train_peak"] <= 24e9) == fits


def test_table_for_the_movielens_sizes(capsys):
    table = memory.dataset_table()
    assert list(table.index) == ["ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m"]
    assert table["train_peak"].is_monotonic_increasing and table["adjacency"].is_monotonic_increasing
    assert table.loc["ml-100k"].filter(like=" fits ").all()  # everything fits ML-100K
    # EASE's movies × movies inverse: 62 423² float64 = 31 GB on ML-25M, four of them at once.
    assert table.loc["ml-25m", "item_item"] == 8 * 62_423**2 and not table.loc["ml-25m", "EASE fits GPU 80 GB"]
    assert table.loc["ml-25m", "eval_peak"] < 8e9  # the bound for chunked evaluation
    memory.main([])
    printed = capsys.readouterr().out
    assert "ml-32m" in printed and "training fits RAM 24 GB" in printed and "Largest" in printed
