"""The item–item similarities against dense float64 formulas written independently in numpy, the
measures computed by hand on tiny examples, and the popularity-matched chance baseline."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from utils.data import IdMapping
from utils.lab import similarity
from utils.lab.similarity import (
    SIMILARITIES,
    centered_cosine,
    cooccurrence_cosine,
    corating_lift,
    ease_weights,
    embedding_cosine,
    genre_agreement,
    measure,
    neighbours,
    normalized_cooccurrence,
    popularity_matched,
)

# Five users, six movies; movie 5 is never rated (degree 0) and user 2's pair (2, 3) comes twice.
TOY = np.array([[1, 1, 0, 0, 0, 0], [1, 0, 1, 0, 1, 0], [0, 1, 1, 1, 0, 0], [1, 1, 1, 0, 0, 0], [0, 0, 0, 1, 1, 0]], dtype=float)
TOY_USERS, TOY_ITEMS = (np.append(index, extra) for index, extra in zip(np.nonzero(TOY), (2, 3)))
# Embeddings with a strong shared direction, as LightGCN's are.
EMBEDDINGS = np.random.default_rng(0).normal(size=(6, 4)) + np.array([3.0, 1.0, 0.0, 0.0])


def safe_power(values: np.ndarray, exponent: float) -> np.ndarray:
    out = np.zeros_like(values)
    out[values > 0] = values[values > 0] ** exponent
    return out


def numpy_cosine(E: np.ndarray) -> np.ndarray:
    unit = E / np.linalg.norm(E, axis=1, keepdims=True)
    return unit @ unit.T


REFERENCES = {
    "embedding cosine": lambda R, E: numpy_cosine(E),
    "centered cosine": lambda R, E: numpy_cosine(E - np.outer(E @ E.mean(0), E.mean(0)) / (E.mean(0) @ E.mean(0))),
    "co-occurrence cosine": lambda R, E: (R.T @ R) * np.outer(safe_power(R.sum(0), -0.5), safe_power(R.sum(0), -0.5)),
    "normalized co-occurrence": lambda R, E: (lambda Rn: Rn.T @ Rn)(
        safe_power(R.sum(1), -0.5)[:, None] * R * safe_power(R.sum(0), -0.5)[None, :]),
    "EASE": lambda R, E: (lambda P: np.eye(len(P)) - P / np.diag(P)[None, :])(np.linalg.inv(R.T @ R + 250.0 * np.eye(R.shape[1]))),
}  # fmt: skip


@pytest.mark.parametrize("name", list(REFERENCES))
def test_each_similarity_matches_its_dense_formula(name):
    got = SIMILARITIES[name](TOY_USERS, TOY_ITEMS, *TOY.shape, EMBEDDINGS)
    np.testing.assert_allclose(np.asarray(got, dtype=np.float64), REFERENCES[name](TOY, EMBEDDINGS), rtol=1e-10, atol=1e-12)


def test_the_named_functions_are_the_registry_entries():
    np.testing.assert_allclose(embedding_cosine(EMBEDDINGS).numpy(), numpy_cosine(EMBEDDINGS), rtol=1e-12)
    projected = centered_cosine(EMBEDDINGS).numpy()
    np.testing.assert_allclose(projected, REFERENCES["centered cosine"](TOY, EMBEDDINGS), rtol=1e-10, atol=1e-12)
    for function in (cooccurrence_cosine, normalized_cooccurrence, ease_weights):
        assert function(TOY_USERS, TOY_ITEMS, *TOY.shape).shape == (6, 6)


def test_centering_removes_a_shared_offset():
    # Two directions that differ only by a large shared offset look alike raw, and opposite once it is removed.
    E = np.array([[10.0, 1.0], [10.0, -1.0], [10.0, 1.0], [10.0, -1.0]])
    assert embedding_cosine(E)[0, 1] > 0.95
    np.testing.assert_allclose(centered_cosine(E)[0, 1].item(), -1.0)


def test_neighbours_skip_the_movie_itself_and_non_candidates():
    S = np.array([[9, 5, 8, 1], [5, 9, 2, 3], [8, 2, 9, 4], [1, 3, 4, 9]], dtype=float)
    candidates = np.array([True, True, False, True])
    np.testing.assert_array_equal(neighbours(S, 2, candidates), [[1, 3], [0, 3], [0, 3], [1, 0]])
    with pytest.raises(ValueError, match="k must lie"):
        neighbours(S, 3, candidates)


# Four movies, three genres: m0 {A}, m1 {A, B}, m2 {C}, m3 {B}.
GENRES = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 0]], dtype=bool)


def test_genre_agreement_by_hand():
    # Pairs (0,1) share A; (0,3), (2,0), (2,3) share nothing: 1 of 4.
    assert genre_agreement([0, 2], np.array([[1, 3], [0, 3]]), GENRES) == 0.25


def test_corating_lift_by_hand():
    # Test ratings: user 0 {0, 1}, user 1 {0, 1, 2}, user 2 {2}, user 3 {3}, user 4 none (not a test user).
    users, items = np.array([0, 0, 1, 1, 1, 2, 3, 0]), np.array([0, 1, 0, 1, 2, 2, 3, 0])  # (0, 0) twice counts once
    # Test popularities c = (2, 2, 2, 1), U_test = 4. Pairs (0,1), (0,3), (2,0), (2,1): co-rated 2 + 0 + 1 + 1 = 4,
    # expected (4 + 2 + 4 + 4) / 4 = 3.5.
    assert corating_lift([0, 2], np.array([[1, 3], [0, 1]]), users, items, 5, 4) == pytest.approx(4 / 3.5)


def test_popularity_matched_is_reproducible_and_as_popular():
    degrees = np.arange(200) * 3
    candidates = degrees >= 30
    queries = np.array([50, 120, 199])
    table = np.array([[199, 198, 10 + 5], [60, 61, 62], [150, 15, 120]])
    first = popularity_matched(queries, table, degrees, candidates, seed=7, draws=30, window=5)
    np.testing.assert_array_equal(first, popularity_matched(queries, table, degrees, candidates, seed=7, draws=30, window=5))
    assert not np.array_equal(first, popularity_matched(queries, table, degrees, candidates, seed=8, draws=30, window=5))
    assert candidates[first].all() and (first != queries[:, None]).all()
    real = np.repeat(table, 30, axis=1)
    assert (first != real).all()
    # Within 11 popularity ranks of the real neighbour; the window slides inside at the ends (rank 0 is movie 10).
    assert (np.abs(first - real) <= 10).all() and first.min() >= 10


def toy_dataset(seed: int = 0, num_users: int = 400, num_items: int = 150, num_genres: int = 8):
    """Ratings driven by popularity alone. Genre 0 goes with popularity (most of the 40 most
    popular movies have it, few others), the other genres are drawn independently of it."""
    rng = np.random.default_rng(seed)
    appeal = 0.6 / np.arange(1, num_items + 1) ** 0.6
    train = pd.DataFrame(np.argwhere(rng.random((num_users, num_items)) < appeal), columns=["user_index", "item_index"])
    test = pd.DataFrame(np.argwhere(rng.random((num_users, num_items)) < appeal / 4), columns=["user_index", "item_index"])
    genres = [f"genre {g}" for g in range(num_genres)]
    flags = rng.random((num_items, num_genres)) < 0.2
    flags[:, 0] = rng.random(num_items) < np.where(np.arange(num_items) < 40, 0.9, 0.1)
    flags[np.arange(num_items), rng.integers(num_genres, size=num_items)] = True  # every movie has a genre, as in MovieLens
    items = pd.DataFrame(flags, columns=genres).assign(item_id=np.arange(num_items) + 1, title=[f"movie {i}" for i in range(num_items)])
    mapping = IdMapping(user_ids=np.arange(num_users) + 1, item_ids=np.arange(num_items) + 1)
    return SimpleNamespace(train=train, test=test, items=items, genres=genres, mapping=mapping,
                           num_users=num_users, num_items=num_items), flags  # fmt: skip


def test_most_popular_for_everyone_is_only_as_good_as_chance_but_genre_matching_wins():
    dataset, flags = toy_dataset()
    degrees = np.bincount(dataset.train["item_index"], minlength=dataset.num_items).astype(float)
    shared_genres = flags.astype(float) @ flags.T.astype(float)
    methods = {
        "most popular": np.tile(degrees, (dataset.num_items, 1)),
        "random": np.random.default_rng(1).random((dataset.num_items, dataset.num_items)),
        "same genres": shared_genres + degrees[None, :] / 1e4,
    }
    # A window of 11 popularity ranks in 150 movies: as fine a match as 51 ranks in ML-100K's 1334 candidates.
    table = measure(methods, dataset, window=5)
    assert list(table.columns) == ["genre agreement", "chance genre agreement", "genre agreement / chance", "test co-rating lift",
                                   "chance co-rating lift", "median neighbour ratings", "median query ratings",
                                   f"top-{similarity.MOST_RATED} most-rated share"]  # fmt: skip
    popular, random, genre_matching = table.loc["most popular"], table.loc["random"], table.loc["same genres"]
    # Popular movies share genre 0, so picking them beats random pairs on raw agreement, but not its popularity-matched chance.
    assert popular["genre agreement"] > random["genre agreement"] + 0.1
    assert popular["genre agreement / chance"] == pytest.approx(1.0, abs=0.08)
    assert random["genre agreement / chance"] == pytest.approx(1.0, abs=0.08)
    assert popular[f"top-{similarity.MOST_RATED} most-rated share"] > 0.95
    assert popular["median neighbour ratings"] > popular["median query ratings"]
    assert genre_matching["genre agreement"] > 0.95
    assert genre_matching["genre agreement / chance"] > popular["genre agreement / chance"] + 0.15
    # Ratings ignore genres here, so no method co-rates beyond popularity on the test ratings.
    for row in (popular, random, genre_matching):
        assert row["test co-rating lift"] == pytest.approx(1.0, abs=0.2)


def test_paired_difference_matches_the_summary_and_its_interval_separates_clear_winners():
    dataset, flags = toy_dataset()
    degrees = np.bincount(dataset.train["item_index"], minlength=dataset.num_items).astype(float)
    methods = {"same genres": flags.astype(float) @ flags.T.astype(float) + degrees[None, :] / 1e4,
               "random": np.random.default_rng(1).random((dataset.num_items, dataset.num_items))}
    frames = similarity.per_query(methods, dataset, window=5)
    table = measure(methods, dataset, window=5)
    difference = similarity.paired_difference(frames["same genres"], frames["random"], reps=300)
    for measure_name in ("genre agreement / chance", "test co-rating lift"):
        expected = table.loc["same genres", measure_name] - table.loc["random", measure_name]
        assert difference.loc[measure_name, "difference"] == pytest.approx(expected, rel=1e-9)
        assert difference.loc[measure_name, "low"] <= expected <= difference.loc[measure_name, "high"]
    assert difference.loc["genre agreement / chance", "low"] > 0  # genre matching wins beyond noise
    # A method against itself: every resample's difference is exactly 0.
    same = similarity.paired_difference(frames["random"], frames["random"], reps=50)
    assert (same.to_numpy() == 0).all()
    with pytest.raises(ValueError, match="different query movies"):
        similarity.paired_difference(frames["random"], frames["random"].iloc[1:])
