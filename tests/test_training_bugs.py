"""Fast, direct tests of the training code's bugs that matter, each against a hand computation.

Each test here fails on one bug that matters and that a slow end-to-end run would hide: the BPR term averaging only the first of
several negatives, each row's negatives drawn for another row's user, the cosine schedule sized in
epochs instead of steps, early stopping's patience off by one, and a wrong sign, L2 term, sampler or
shuffle. The references are written out in float64 NumPy or by hand, not with the code under test.
"""

import math

import numpy as np
import pytest
import torch

from utils.graph import normalized_bipartite_adjacency
from utils.losses import bpr_loss, l2_penalty
from utils.models import LightGCN
from utils.training import NegativeSampler, TrainConfig, Trainer


def make_trainer(users, items, num_users: int, num_items: int, config: TrainConfig) -> Trainer:
    adjacency = normalized_bipartite_adjacency(users, items, num_users, num_items)
    torch.manual_seed(0)
    return Trainer(LightGCN(num_users, num_items, embedding_dim=4, num_layers=2), adjacency, users, items, config, device="cpu")


def tiny_run(config: TrainConfig, num_users=6, num_items=9, num_pairs=20, seed=0):
    """A Trainer on random pairs in which every user rated something and no user rated everything."""
    rng = np.random.default_rng(seed)
    users = np.concatenate([np.arange(num_users), rng.integers(num_users, size=num_pairs - num_users)])
    items = rng.integers(num_items - 1, size=num_pairs)  # the last movie stays unrated
    return make_trainer(users, items, num_users, num_items, config), users, items


def rated_matrix(users, items, num_users, num_items) -> np.ndarray:
    rated = np.zeros((num_users, num_items), dtype=bool)
    rated[np.asarray(users), np.asarray(items)] = True
    return rated


# --- Negative sampling and the shuffle ---------------------------------------------------------


def test_each_users_negatives_are_the_one_movie_they_did_not_rate():
    # User u rated every movie but movie u: every one of a row's negatives must be movie users[n].
    num_users, num_items = 5, 7
    users = np.repeat(np.arange(num_users), num_items - 1)
    items = np.concatenate([[i for i in range(num_items) if i != u] for u in range(num_users)])
    trainer = make_trainer(users, items, num_users, num_items, TrainConfig(negatives_per_positive=3))
    for _ in range(2):
        epoch_users, _, negatives = trainer.sample_epoch()
        assert negatives.shape == (len(users), 3)
        assert torch.equal(negatives, epoch_users[:, None].expand(-1, 3))


@pytest.mark.parametrize("dense_lookup_limit", [10**9, 0])
def test_a_rows_negatives_are_never_a_training_movie_of_its_user(dense_lookup_limit):
    num_users, num_items = 30, 12
    rng = np.random.default_rng(3)
    users, items = rng.integers(num_users, size=200), rng.integers(num_items, size=200)
    rated = rated_matrix(users, items, num_users, num_items)
    trainer = make_trainer(users, items, num_users, num_items, TrainConfig(negatives_per_positive=5))
    trainer.sampler = NegativeSampler(users, items, num_items, dense_lookup_limit=dense_lookup_limit)
    epoch_users, positives, negatives = trainer.sample_epoch()
    assert rated[epoch_users.numpy(), positives.numpy()].all()
    assert not rated[epoch_users.numpy()[:, None], negatives.numpy()].any()
    # With the rejection off, a collision would show: the check above is not vacuous.
    loose = NegativeSampler(users, items, num_items, exclude_positives=False)
    drawn = loose.sample(torch.as_tensor(np.repeat(users, 5)), torch.Generator().manual_seed(0))
    assert rated[np.repeat(users, 5), drawn.numpy()].any()


def test_each_epoch_is_a_new_permutation_of_all_training_pairs():
    trainer, users, items = tiny_run(TrainConfig(), num_pairs=40)
    pairs = sorted(zip(users.tolist(), items.tolist()))
    orders = []
    for _ in range(3):
        epoch_users, positives, _ = trainer.sample_epoch()
        assert sorted(zip(epoch_users.tolist(), positives.tolist())) == pairs  # every pair once, user and movie kept together
        orders.append(list(zip(epoch_users.tolist(), positives.tolist())))
    assert orders[0] != orders[1] != orders[2] != orders[0]


# --- The learning-rate schedule and early stopping ---------------------------------------------


def test_cosine_learning_rate_reaches_zero_at_the_last_step_and_never_rises():
    config = TrainConfig(epochs=3, batch_size=6, learning_rate=0.1, cosine_decay=True, eval_every=0)
    trainer, users, _ = tiny_run(config, num_pairs=20)
    steps_per_epoch = math.ceil(len(users) / 6)  # 4
    rates = []
    take_step = trainer.step

    def recording_step(*batch):
        rates.append(trainer.optimizer.param_groups[0]["lr"])
        return take_step(*batch)

    trainer.step = recording_step
    trainer.fit(progress=False)
    total = config.epochs * steps_per_epoch
    assert len(rates) == total == 12
    expected = [0.1 * (1 + math.cos(math.pi * t / total)) / 2 for t in range(total)]
    np.testing.assert_allclose(rates, expected, rtol=1e-9)
    assert all(later <= earlier for earlier, later in zip(rates, rates[1:]))
    assert trainer.optimizer.param_groups[0]["lr"] == pytest.approx(0.0, abs=1e-12)  # after the last step


# The monitored value at evaluations 1, 2, ...: improvements at 1, 2 and 6; 0.3 at 4 ties, no gain.
SCRIPT = [0.1, 0.3, 0.2, 0.3, 0.25, 0.4, 0.1, 0.2, 0.3, 0.35, 0.1, 0.1]


@pytest.mark.parametrize(
    ("patience", "eval_every", "last_epoch", "best_epoch"),
    [(0, 1, 3, 2),  # evaluation 3 is the first without gain: stop there
     (1, 1, 4, 2),  # tolerate evaluation 3, stop at 4
     (2, 1, 5, 2),
     (3, 1, 10, 6),  # evaluation 6 improves; 7, 8, 9 are tolerated, 10 stops
     (1, 2, 8, 4)],  # evaluations at epochs 2, 4, 6, 8: the 3rd and 4th gain nothing
)  # fmt: skip
def test_patience_tolerates_exactly_patience_evaluations_without_gain(patience, eval_every, last_epoch, best_epoch):
    config = TrainConfig(epochs=12 * eval_every, eval_every=eval_every, patience=patience, batch_size=None)
    trainer, *_ = tiny_run(config)
    states = {}

    def scripted_monitor(model):
        evaluation = len(states)
        states[(evaluation + 1) * eval_every] = {k: v.clone() for k, v in model.state_dict().items()}
        return {"recall@10": SCRIPT[evaluation]}

    history = trainer.fit(scripted_monitor, progress=False)
    assert (history.rows[-1]["epoch"], history.best_epoch) == (last_epoch, best_epoch)
    for name, value in trainer.model.state_dict().items():  # the best evaluation's weights, restored
        assert torch.equal(value, states[best_epoch][name])


def test_patience_without_evaluations_is_an_error():
    with pytest.raises(ValueError, match="eval_every=0 never evaluates"):
        TrainConfig(patience=2, eval_every=0)
    trainer, *_ = tiny_run(TrainConfig(epochs=2, patience=1))
    with pytest.raises(ValueError, match="no evaluate function was given"):
        trainer.fit(progress=False)


# --- The loss --------------------------------------------------------------------------------------


def loss_batch(num_negatives=4, seed=0):
    """A model with well-spread embeddings, its graph, and a batch with ``num_negatives`` per positive."""
    num_users, num_items = 5, 8
    torch.manual_seed(seed)
    model = LightGCN(num_users, num_items, embedding_dim=3, num_layers=2, init_std=1.0)
    adjacency = normalized_bipartite_adjacency([0, 1, 2, 3, 4, 4], [1, 2, 7, 0, 3, 5], num_users, num_items)
    users, positives = torch.tensor([0, 1, 4, 4]), torch.tensor([1, 2, 3, 5])
    negatives = torch.randint(num_items, (4, num_negatives), generator=torch.Generator().manual_seed(seed))
    return model, adjacency, users, positives, negatives


def reference_bpr(model, adjacency, users, positives, negatives) -> float:
    """mean over the batch and every negative of -ln σ(ŷ_ui - ŷ_uj), in float64 NumPy."""
    with torch.no_grad():
        user_final, item_final = (t.double().numpy() for t in model.get_embedding(adjacency))
    u, i, j = users.numpy(), positives.numpy(), negatives.numpy()
    positive_scores = (user_final[u] * item_final[i]).sum(1)  # (B,)
    negative_scores = np.einsum("bd,bkd->bk", user_final[u], item_final[j])  # (B, k)
    return float(np.mean(np.logaddexp(0.0, -(positive_scores[:, None] - negative_scores))))


def test_the_bpr_term_averages_over_every_negative():
    model, adjacency, users, positives, negatives = loss_batch(num_negatives=4)
    _, parts = model.loss(adjacency, users, positives, negatives)
    assert parts["bpr"].item() == pytest.approx(reference_bpr(model, adjacency, users, positives, negatives), rel=1e-5)
    # Make the last negative of every row a far worse (higher-scored) movie: the loss must move.
    with torch.no_grad():
        user_final, item_final = model.get_embedding(adjacency)
        worst = (user_final[users] @ item_final.T).argmax(1)
    changed = negatives.clone()
    changed[:, -1] = worst
    _, changed_parts = model.loss(adjacency, users, positives, changed)
    expected = reference_bpr(model, adjacency, users, positives, changed)
    assert changed_parts["bpr"].item() == pytest.approx(expected, rel=1e-5)
    assert abs(changed_parts["bpr"].item() - parts["bpr"].item()) > 0.05


def test_the_bpr_sign_rewards_ranking_the_positive_first():
    assert bpr_loss(torch.tensor([3.0]), torch.tensor([-3.0])).item() == pytest.approx(math.log1p(math.exp(-6.0)))
    assert bpr_loss(torch.tensor([-3.0]), torch.tensor([3.0])).item() == pytest.approx(math.log1p(math.exp(6.0)))
    # One plain gradient step on the model's loss widens the gap between positive and negative scores.
    model, adjacency, users, positives, negatives = loss_batch(num_negatives=1)

    def gap():
        with torch.no_grad():
            user_final, item_final = model.get_embedding(adjacency)
            return ((user_final[users] * (item_final[positives] - item_final[negatives[:, 0]])).sum(1)).sum().item()

    before = gap()
    loss, _ = model.loss(adjacency, users, positives, negatives)
    loss.backward()
    with torch.no_grad():
        for parameter in model.parameters():
            parameter -= 0.05 * parameter.grad
    assert gap() > before


def test_the_l2_term_equals_the_hand_formula():
    model, adjacency, users, positives, negatives = loss_batch(num_negatives=3)
    user_table, item_table = (t.detach().double().numpy() for t in model.layer0_tables())
    squared = lambda rows: float((rows**2).sum())  # noqa: E731
    batch_formula = (squared(user_table[users]) + squared(item_table[positives]) + squared(item_table[negatives.flatten()])) / (2 * len(users))
    tables_formula = squared(user_table) + squared(item_table)
    tables = model.layer0_tables()
    assert l2_penalty(*tables, users, positives, negatives, "batch").item() == pytest.approx(batch_formula, rel=1e-6)
    assert l2_penalty(*tables, users, positives, negatives, "tables").item() == pytest.approx(tables_formula, rel=1e-6)
    # The model's loss adds exactly λ times it.
    plain = model.loss(adjacency, users, positives, negatives, weight_decay=0.0)[0].item()
    for regularize, formula in (("batch", batch_formula), ("tables", tables_formula)):
        weighted = model.loss(adjacency, users, positives, negatives, weight_decay=0.25, regularize=regularize)[0].item()
        assert weighted - plain == pytest.approx(0.25 * formula, rel=1e-5)
