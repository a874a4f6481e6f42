"""Ranking metrics against hand-computed toy cases and an independent slow reference."""

import math

import numpy as np
import pytest
import torch

from utils.metrics import RankingEvaluator, embedding_scores, popularity_scores


def fixed_scores(matrix):
    matrix = torch.as_tensor(matrix, dtype=torch.float32)
    return lambda users: matrix[users]


def test_hand_computed_single_user():
    # 6 movies; the user rated movie 0 in training; test movies are 2, 4 and one unseen (-1).
    evaluator = RankingEvaluator([0], [0], [0, 0, 0], [2, 4, -1], num_users=1, num_items=6)
    scores = fixed_scores([[9.0, 5.0, 4.0, 3.0, 2.0, 1.0]])  # ranking after masking movie 0: 1, 2, 3, 4, 5
    result = evaluator.evaluate(scores, ks=(1, 2, 4))
    assert result["recall@1"] == 0.0 and result["hit@1"] == 0.0
    assert result["recall@2"] == pytest.approx(1 / 3)  # movie 2 found; the unseen movie still counts
    assert result["precision@2"] == pytest.approx(1 / 2)
    assert result["recall@4"] == pytest.approx(2 / 3)  # movies 2 and 4 at ranks 2 and 4
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 + 1 / math.log2(3) + 1 / math.log2(4)  # min(K=4, 3 relevant) = 3 ideal hits
    assert result["ndcg@4"] == pytest.approx(dcg / ideal)
    assert result["map@4"] == pytest.approx((1 / 2 + 2 / 4) / 3)
    assert result["hit@4"] == 1.0


def test_training_movies_are_never_recommended():
    evaluator = RankingEvaluator([0, 0], [0, 1], [0], [2], num_users=1, num_items=4)
    top = evaluator.top_k(fixed_scores([[10.0, 9.0, 1.0, 0.0]]), torch.tensor([0]), 2)
    assert top.tolist() == [[2, 3]]


def slow_reference(scores, train, test, k):
    """Plain Python: sort each user's untrained movies by score, count hits."""
    out = {name: [] for name in ("recall", "precision", "ndcg", "hit", "map")}
    for user, relevant in test.items():
        ranked = [i for i in np.argsort(-scores[user], kind="stable") if i not in train.get(user, set())][:k]
        seen = {i for i in relevant if i >= 0}
        rel = [1.0 if i in seen else 0.0 for i in ranked]
        hits = sum(rel)
        out["recall"].append(hits / len(relevant))
        out["precision"].append(hits / k)
        out["hit"].append(float(hits > 0))
        dcg = sum(r / math.log2(rank + 2) for rank, r in enumerate(rel))
        idcg = sum(1 / math.log2(rank + 2) for rank in range(min(k, len(relevant))))
        out["ndcg"].append(dcg / idcg)
        precisions = [sum(rel[: rank + 1]) / (rank + 1) for rank in range(len(rel)) if rel[rank]]
        out["map"].append(sum(precisions) / min(k, len(relevant)))
    return {f"{name}@{k}": float(np.mean(values)) for name, values in out.items()}


@pytest.mark.parametrize("seed", range(4))
def test_matches_slow_reference_on_random_data(seed):
    rng = np.random.default_rng(seed)
    num_users, num_items = 30, 50
    scores = rng.normal(size=(num_users, num_items)).astype(np.float32)  # continuous: no ties
    train = {u: set(rng.choice(num_items, size=rng.integers(1, 15), replace=False).tolist()) for u in range(num_users)}
    test = {}
    for u in range(0, num_users, 2):  # half the users have no test movies and must not count
        candidates = [i for i in range(num_items) if i not in train[u]]
        chosen = rng.choice(candidates, size=rng.integers(1, 8), replace=False).tolist()
        test[u] = chosen + ([-1] if rng.random() < 0.3 else [])
    train_pairs = [(u, i) for u, items in train.items() for i in items]
    test_pairs = [(u, i) for u, items in test.items() for i in items]
    evaluator = RankingEvaluator(
        [u for u, _ in train_pairs], [i for _, i in train_pairs], [u for u, _ in test_pairs], [i for _, i in test_pairs],
        num_users, num_items, batch_size=7,
    )  # fmt: skip
    result = evaluator.evaluate(fixed_scores(scores), ks=(1, 5, 10), per_user=True)
    for k in (1, 5, 10):
        for name, value in slow_reference(scores, train, test, k).items():
            assert result[name] == pytest.approx(value, abs=1e-12), name
    assert result["users"].tolist() == sorted(test)


def test_batch_size_does_not_change_results():
    rng = np.random.default_rng(0)
    scores = fixed_scores(rng.normal(size=(20, 30)))
    args = (rng.integers(20, size=60), rng.integers(30, size=60), rng.integers(20, size=40), rng.integers(30, size=40), 20, 30)
    assert RankingEvaluator(*args, batch_size=3).evaluate(scores, (5,)) == RankingEvaluator(*args, batch_size=1000).evaluate(scores, (5,))


def test_bad_k_and_nan_scores_are_clear_errors():
    evaluator = RankingEvaluator([0], [0], [0], [1], num_users=1, num_items=4)
    with pytest.raises(ValueError, match=r"K must lie in 1..4"):
        evaluator.evaluate(fixed_scores([[1.0, 2.0, 3.0, 4.0]]), ks=(5,))
    with pytest.raises(ValueError, match="K must lie"):
        evaluator.evaluate(fixed_scores([[1.0, 2.0, 3.0, 4.0]]), ks=(0,))
    with pytest.raises(ValueError, match="NaN scores"):
        evaluator.evaluate(fixed_scores([[1.0, float("nan"), 3.0, 4.0]]), ks=(2,))


def test_scorers():
    users, items = torch.randn(3, 4), torch.randn(5, 4)
    torch.testing.assert_close(embedding_scores(users, items)(torch.tensor([2, 0])), users[[2, 0]] @ items.T)
    popular = popularity_scores([1, 1, 4, 1, 4, 0], 5)(torch.tensor([0, 2]))
    assert popular.tolist() == [[1, 3, 0, 0, 2]] * 2


def random_split(rng, num_users, num_items, max_train=20, unseen_share=0.3):
    """Random (train, test) pairs: some users without training or test movies, some with UNSEEN (-1)
    test movies, some whose only test movie is UNSEEN, and repeated training pairs."""
    train_users, train_items, test_users, test_items = [], [], [], []
    for u in range(num_users):
        rated = rng.choice(num_items, size=rng.integers(0, max_train + 1), replace=False).tolist()
        train_users += [u] * len(rated) + [u] * min(len(rated), 2)  # a few pairs twice: they mask once
        train_items += rated + rated[:2]
        kind = rng.random()
        if kind < 0.2:
            continue  # no test movies: not evaluated
        if kind < 0.3:
            chosen = []  # only an unseen test movie: counts, never hit
        else:
            candidates = np.setdiff1d(np.arange(num_items), rated)
            chosen = rng.choice(candidates, size=rng.integers(1, 9), replace=False).tolist()
        chosen += [-1] * (kind < 0.3 or rng.random() < unseen_share)
        test_users += [u] * len(chosen)
        test_items += chosen
    return np.array(train_users), np.array(train_items), np.array(test_users), np.array(test_items)


def dense_reference(scores, train_users, train_items, test_users, test_items, ks):
    """Float64 and dense: the whole users × movies matrix, masked, argsorted; the formulas as written."""
    num_users, num_items = scores.shape
    masked = scores.astype(np.float64).copy()
    masked[train_users, train_items] = -np.inf
    relevant = np.zeros((num_users, num_items), dtype=bool)
    seen = test_items >= 0
    relevant[test_users[seen], test_items[seen]] = True
    num_relevant = np.bincount(test_users, minlength=num_users).astype(np.float64)  # UNSEEN ones included
    users = np.flatnonzero(num_relevant > 0)
    ranking = np.argsort(-masked, axis=1, kind="stable")
    out = {"users": users}
    for k in ks:
        rel = np.take_along_axis(relevant, ranking[:, :k], axis=1)[users].astype(np.float64)  # (users, k)
        n = num_relevant[users]
        found = rel.sum(1)
        discount = 1 / np.log2(np.arange(1, k + 1) + 1)
        ideal = np.array([discount[: int(min(k, m))].sum() for m in n])
        precision_at_r = np.cumsum(rel, axis=1) / np.arange(1, k + 1)
        per_user = {
            "recall": found / n,
            "precision": found / k,
            "hit": (found > 0).astype(np.float64),
            "ndcg": (rel * discount).sum(1) / ideal,
            "map": (rel * precision_at_r).sum(1) / np.minimum(k, n),
        }
        for name, values in per_user.items():
            out[f"per_user_{name}@{k}"] = values
            out[f"{name}@{k}"] = values.mean()
    return out


def distinct_scores(rng, num_users, num_items):
    scores = rng.normal(size=(num_users, num_items)).astype(np.float32)
    assert all(len(np.unique(row)) == num_items for row in scores)  # no ties: one right ranking
    return scores


@pytest.mark.parametrize("max_block_scores", [1, 7 * 80, 2**23])  # 1 user, 7 users, all users per block
@pytest.mark.parametrize("seed", range(3))
def test_matches_dense_reference(seed, max_block_scores):
    rng = np.random.default_rng(seed)
    num_users, num_items, ks = 60, 80, (1, 3, 10, 25)  # K <= movies minus the most training movies: no -inf ties
    scores = distinct_scores(rng, num_users, num_items)
    split = random_split(rng, num_users, num_items)
    evaluator = RankingEvaluator(*split, num_users, num_items, max_block_scores=max_block_scores)
    assert evaluator.batch_size == max(1, max_block_scores // num_items)
    result = evaluator.evaluate(fixed_scores(scores), ks=ks, per_user=True)
    expected = dense_reference(scores, *split, ks)
    assert set(result) == set(expected)
    assert result["users"].tolist() == expected["users"].tolist()
    for name, value in expected.items():
        np.testing.assert_allclose(result[name], value, rtol=0, atol=1e-12, err_msg=name)


def recording(scores):
    calls = []

    def scorer(users):
        calls.append(users.clone())
        return scores(users)

    return scorer, calls


def test_scorer_is_called_within_the_budget():
    rng = np.random.default_rng(5)
    num_users, num_items, budget = 50, 40, 3 * 40 + 39  # 3 users (120 scores) fit, 4 (160) do not
    scores = fixed_scores(distinct_scores(rng, num_users, num_items))
    split = random_split(rng, num_users, num_items)
    scorer, calls = recording(scores)
    evaluator = RankingEvaluator(*split, num_users, num_items, max_block_scores=budget)
    chunked = evaluator.evaluate(scorer, ks=(1, 5, 10), per_user=True)
    assert len(calls) == math.ceil(len(evaluator.users) / 3) > 10
    assert all(len(users) * num_items <= budget for users in calls)
    assert torch.cat(calls).tolist() == evaluator.users.tolist()  # every test user once, in order
    whole = RankingEvaluator(*split, num_users, num_items, max_block_scores=num_users * num_items).evaluate(scores, ks=(1, 5, 10), per_user=True)
    assert chunked.keys() == whole.keys()
    for name in whole:
        np.testing.assert_array_equal(chunked[name], whole[name], err_msg=name)


def test_memory_bound_does_not_grow_with_users():
    num_items, budget = 50, 2**10  # 20 users per block
    largest, stored = {}, {}
    for num_users in (100, 10_000):
        rng = np.random.default_rng(num_users)
        user_table, item_table = torch.randn(num_users, 8), torch.randn(num_items, 8)
        scorer, calls = recording(embedding_scores(user_table, item_table))
        evaluator = RankingEvaluator(*random_split(rng, num_users, num_items, max_train=5), num_users, num_items, max_block_scores=budget)
        evaluator.evaluate(scorer, ks=(10,))
        largest[num_users] = max(len(users) for users in calls)
        # Nothing the evaluator keeps is users × movies: only per-user pointers and per-rating indices.
        stored[num_users] = max(value.numel() for value in vars(evaluator).values() if isinstance(value, torch.Tensor))
        assert stored[num_users] < num_users * num_items / 4
    assert largest[100] == largest[10_000] == budget // num_items


def test_batch_size_overrides_the_budget():
    args = ([0, 1], [0, 1], [0, 1, 2], [1, 2, 3], 3, 30)
    assert RankingEvaluator(*args).batch_size == 2**23 // 30
    assert RankingEvaluator(*args, max_block_scores=100).batch_size == 3
    assert RankingEvaluator(*args, max_block_scores=10).batch_size == 1  # fewer scores than one user needs: 1 user
    assert RankingEvaluator(*args, batch_size=2, max_block_scores=10).batch_size == 2


def test_out_of_range_pairs_are_clear_errors():
    with pytest.raises(ValueError, match=r"training movie indices must lie in 0..3"):
        RankingEvaluator([0], [4], [0], [1], num_users=1, num_items=4)
    with pytest.raises(ValueError, match=r"test user indices must lie in 0..0"):
        RankingEvaluator([0], [0], [1], [1], num_users=1, num_items=4)
    with pytest.raises(ValueError, match="of one length"):
        RankingEvaluator([0, 0], [0], [0], [1], num_users=1, num_items=4)


def test_wrong_score_shape_is_a_clear_error():
    evaluator = RankingEvaluator([0], [0], [0], [1], num_users=1, num_items=4)
    with pytest.raises(ValueError, match=r"scores must have shape \(1, 4\), got \(1, 3\)"):
        evaluator.evaluate(fixed_scores([[1.0, 2.0, 3.0]]), ks=(2,))


def test_an_evaluation_with_no_test_users_says_so():
    evaluator = RankingEvaluator([0, 1], [0, 1], [], [], num_users=2, num_items=3)
    with pytest.raises(ValueError, match="no user has a test rating"):
        evaluator.evaluate(fixed_scores(np.zeros((2, 3))))
