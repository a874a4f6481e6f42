"""Negative sampling, the BPR loss, the config, the training loop, seeds and early stopping."""

import numpy as np
import pytest
import torch

from utils import losses
from utils.graph import normalized_bipartite_adjacency
from utils.losses import bpr_loss, l2_on_batch
from utils.metrics import RankingEvaluator, embedding_scores, popularity_scores
from utils.models import LightGCN
from utils.training import NegativeSampler, TrainConfig, Trainer, pick_device, seed_everything, train_model


def test_sampler_never_returns_a_training_movie_and_is_uniform():
    rng = np.random.default_rng(0)
    users, items = rng.integers(20, size=300), rng.integers(30, size=300)
    sampler = NegativeSampler(users, items, 30)
    positives = set(zip(users.tolist(), items.tolist()))
    queried = torch.as_tensor(np.repeat(np.arange(20), 500))
    negatives = sampler.sample(queried, torch.Generator().manual_seed(0))
    assert negatives.shape == queried.shape and negatives.dtype == torch.long
    assert not any((u, i) in positives for u, i in zip(queried.tolist(), negatives.tolist()))
    # Uniform over each user's non-rated movies: user 0's counts stay near their mean.
    allowed = [i for i in range(30) if (0, i) not in positives]
    counts = np.bincount(negatives[queried == 0].numpy(), minlength=30)[allowed]
    assert counts.min() > 0.4 * counts.mean() and counts.max() < 1.8 * counts.mean()


def test_sampler_dense_table_and_binary_search_agree():
    rng = np.random.default_rng(1)
    users, items = rng.integers(25, size=400), rng.integers(40, size=400)
    dense = NegativeSampler(users, items, 40)
    searched = NegativeSampler(users, items, 40, dense_lookup_limit=0)
    assert dense._rated is not None and searched._rated is None
    # Every cell, plus users past the last one that rated anything (no cells in the dense table).
    grid_users, grid_items = (t.flatten() for t in torch.meshgrid(torch.arange(30), torch.arange(40), indexing="ij"))
    truth = torch.tensor([(u, i) in set(zip(users.tolist(), items.tolist())) for u, i in zip(grid_users.tolist(), grid_items.tolist())])
    assert torch.equal(dense.is_positive(grid_users, grid_items), truth)
    assert torch.equal(searched.is_positive(grid_users, grid_items), truth)
    # Same lookups, same random stream: the same negatives.
    queried = torch.as_tensor(np.repeat(np.arange(25), 40))
    assert torch.equal(dense.sample(queried, torch.Generator().manual_seed(5)), searched.sample(queried, torch.Generator().manual_seed(5)))


def test_occurrences_equals_bincount():
    indices = torch.tensor([3, 0, 3, 3, 7, 0])
    counts = losses.occurrences(indices, 9, torch.float32)
    assert counts.dtype == torch.float32
    assert torch.equal(counts, torch.bincount(indices, minlength=9).float())


def test_training_step_takes_one_adam_step_and_returns_its_loss():
    model = LightGCN(6, 8, embedding_dim=4, num_layers=2)
    A = normalized_bipartite_adjacency([0, 1, 2, 5], [1, 2, 7, 0], 6, 8)
    users, pos, neg = torch.tensor([0, 1, 5]), torch.tensor([1, 2, 0]), torch.tensor([[3, 4], [3, 6], [2, 2]])
    config = TrainConfig(weight_decay=0.1, learning_rate=0.01)
    expected_loss, expected_parts = model.loss(A, users, pos, neg, weight_decay=0.1)
    before = model.user_embedding.weight.detach().clone()
    trainer = Trainer(model, A, [0, 1, 2, 5], [1, 2, 7, 0], config, device="cpu")
    step_losses = trainer.step(users, pos, neg)
    assert not step_losses.requires_grad and trainer.loss_parts == ["bpr"]
    torch.testing.assert_close(step_losses, torch.stack([expected_loss.detach(), expected_parts["bpr"]]))
    moved = (model.user_embedding.weight.detach() - before).abs()
    # Adam's first step moves every parameter with a gradient by the learning rate.
    torch.testing.assert_close(moved[[0, 1, 5]], torch.full((3, 4), 0.01))


def test_sampler_without_rejection_may_hit_positives():
    sampler = NegativeSampler([0] * 9, list(range(9)), 10, exclude_positives=False)
    assert (sampler.sample(torch.zeros(1000, dtype=torch.long)) < 9).any()
    with pytest.raises(ValueError, match="user index 0 rated every movie"):
        NegativeSampler([0, 0], [0, 1], 2)
    NegativeSampler([0, 0, 0], [1, 1, 1], 2)  # three ratings, but of one movie of two: a negative exists


def test_bpr_loss_formula():
    pos, neg = torch.tensor([2.0, -1.0, 0.5]), torch.tensor([1.0, 1.0, 0.5])
    expected = -torch.log(torch.sigmoid(pos - neg)).mean()
    torch.testing.assert_close(bpr_loss(pos, neg), expected)
    assert torch.isfinite(bpr_loss(torch.tensor([-100.0]), torch.tensor([100.0])))


def test_training_step_regulariser_equals_the_paper_formula():
    model = LightGCN(6, 8, embedding_dim=4, num_layers=2)
    A = normalized_bipartite_adjacency([0, 1, 2, 5], [1, 2, 7, 0], 6, 8)
    users, pos, neg = torch.tensor([0, 1, 1, 5]), torch.tensor([1, 2, 2, 0]), torch.tensor([3, 4, 3, 6])
    loss, parts = model.loss(A, users, pos, neg, weight_decay=0.5)
    user_final, item_final = model.get_embedding(A)
    expected_bpr = bpr_loss((user_final[users] * item_final[pos]).sum(1), (user_final[users] * item_final[neg]).sum(1))
    penalty = l2_on_batch(model.user_embedding.weight[users], model.item_embedding.weight[pos], model.item_embedding.weight[neg])
    torch.testing.assert_close(loss, expected_bpr + 0.5 * penalty)
    assert parts["bpr"].item() == pytest.approx(expected_bpr.item()) and not parts["bpr"].requires_grad
    tables = model.loss(A, users, pos, neg, weight_decay=0.5, regularize="tables")[0]
    table_penalty = model.user_embedding.weight.pow(2).sum() + model.item_embedding.weight.pow(2).sum()
    torch.testing.assert_close(tables, expected_bpr + 0.5 * table_penalty)


def _train_on(synthetic, config, num_layers=2):
    users, items = synthetic.train_pairs()
    A = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    evaluator = RankingEvaluator.from_dataset(synthetic)
    seed_everything(config.seed)  # the initialisation is part of the run
    model = LightGCN(synthetic.num_users, synthetic.num_items, embedding_dim=32, num_layers=num_layers)

    def evaluate(m):
        return evaluator.evaluate(embedding_scores(*m.get_embedding(A)))

    history = train_model(model, A, users, items, config, evaluate=evaluate, device="cpu", progress=False)
    return model, history, evaluator, A


def test_training_learns_and_beats_popularity(synthetic):
    config = TrainConfig(epochs=30, batch_size=1024, learning_rate=1e-2, eval_every=10, seed=0)
    model, history, evaluator, A = _train_on(synthetic, config)
    frame = history.to_frame()
    assert frame["loss"].iloc[-1] < 0.6 * frame["loss"].iloc[0]
    with torch.no_grad():
        ours = evaluator.evaluate(embedding_scores(*model.get_embedding(A)))["recall@10"]
    popular = evaluator.evaluate(popularity_scores(synthetic.train_pairs()[1], synthetic.num_items))["recall@10"]
    assert ours > 1.2 * popular, (ours, popular)


def test_same_seed_same_metrics(synthetic):
    config = TrainConfig(epochs=4, batch_size=512, learning_rate=1e-2, eval_every=2, seed=3)
    first = _train_on(synthetic, config)[1].to_frame()
    second = _train_on(synthetic, config)[1].to_frame()
    assert first[["loss", "recall@10", "ndcg@10"]].equals(second[["loss", "recall@10", "ndcg@10"]])
    other = _train_on(synthetic, TrainConfig(epochs=4, batch_size=512, learning_rate=1e-2, eval_every=2, seed=4))[1]
    assert not first["loss"].equals(other.to_frame()["loss"])


def test_full_batch_takes_one_step_per_epoch(synthetic):
    steps = []
    original_step = torch.optim.Adam.step

    def counting_step(self, *args, **kwargs):
        steps.append(1)
        return original_step(self, *args, **kwargs)

    torch.optim.Adam.step = counting_step
    try:
        _train_on(synthetic, TrainConfig(epochs=3, batch_size=None, eval_every=0))
    finally:
        torch.optim.Adam.step = original_step
    assert len(steps) == 3


def test_early_stopping_restores_the_best_weights(synthetic):
    # A learning rate this high overshoots: validation recall peaks early, then falls.
    config = TrainConfig(epochs=40, batch_size=256, learning_rate=0.3, eval_every=1, patience=2)
    model, history, evaluator, A = _train_on(synthetic, config)
    frame = history.to_frame()
    assert len(frame) < 40
    with torch.no_grad():
        restored = evaluator.evaluate(embedding_scores(*model.get_embedding(A)))["recall@10"]
    assert restored == pytest.approx(frame["recall@10"].max())
    assert history.best_epoch == frame["recall@10"].idxmax()


def test_asking_for_a_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="(?s)no CUDA GPU.*Fix: on Colab"):
        pick_device("cuda")
    with pytest.raises(RuntimeError, match="no Apple GPU. Fix: use device='cpu'"):
        pick_device("mps")
    assert pick_device(None) == pick_device("auto") == torch.device("cpu")


def test_the_best_device_is_chosen_in_order(monkeypatch):
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert pick_device(None) == torch.device("cuda")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert pick_device(None) == torch.device("mps")
    assert pick_device("cpu") == torch.device("cpu")


def test_dense_and_gathered_batch_scores_agree():
    torch.manual_seed(0)
    user_final, item_final = torch.randn(7, 5, requires_grad=True), torch.randn(11, 5, requires_grad=True)
    users, items = torch.tensor([3, 0, 3, 6]), torch.randint(11, (4, 3))
    expected = (user_final[users][:, None, :] * item_final[items]).sum(-1)
    dense = losses.batch_scores(user_final, item_final, users, items)
    gathered = losses.batch_scores(user_final, item_final, users, items, dense_scores_limit=0)
    torch.testing.assert_close(dense, expected)
    torch.testing.assert_close(gathered, expected)
    grads = [torch.autograd.grad(scores.sum(), (user_final, item_final)) for scores in (dense, gathered)]
    for first, second in zip(*grads):
        torch.testing.assert_close(first, second)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"monitor": "recal@10"}, "monitor must be"),
        ({"monitor": "recall"}, "monitor must be"),
        ({"monitor": "recall@0"}, "monitor must be"),
        ({"regularize": "rows"}, "regularize must be one of"),
        ({"epochs": 0}, "epochs must be"),
        ({"batch_size": 0}, "batch_size must be"),
        ({"learning_rate": -1.0}, "learning_rate must be positive"),
        ({"negatives_per_positive": 0}, "negatives_per_positive"),
        ({"patience": -1}, "patience"),
        ({"patience": 3, "eval_every": 0}, "eval_every=0 never evaluates"),
    ],
)
def test_a_config_is_checked_when_it_is_made(changes, message):
    with pytest.raises(ValueError, match=message):
        TrainConfig(**changes)
    with pytest.raises(ValueError, match=message):
        TrainConfig().replace(**changes)


def test_config_defaults_are_the_default_recipe():
    from utils.recipes import DEFAULT_RECIPE

    assert TrainConfig() == DEFAULT_RECIPE.config
    assert TrainConfig(monitor="ndcg@20").monitor_k == 20
    with pytest.raises(TypeError, match="unknown TrainConfig field"):
        TrainConfig().replace(learnin_rate=0.1)


def test_a_monitor_the_evaluation_does_not_measure_is_an_error(synthetic):
    with pytest.raises(KeyError, match="not the monitored 'recall@20'"):
        _train_on(synthetic, TrainConfig(epochs=1, eval_every=1, monitor="recall@20"))


def test_the_loop_records_every_part_of_the_models_loss(synthetic):
    _, history, _, _ = _train_on(synthetic, TrainConfig(epochs=2, eval_every=1, weight_decay=0.0))
    frame = history.to_frame()
    assert {"loss", "bpr", "recall@10", "train_seconds"} <= set(frame.columns)
    # Without the L2 term the loss is its BPR part.
    np.testing.assert_allclose(frame["loss"], frame["bpr"], rtol=1e-6)
