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
