"""A small synthetic dataset in exactly the MovieLens 100K file format.

Tests and CI run without the real data (its licence forbids shipping it) and without a network.
:func:`write_synthetic_ml100k` writes the same files (``u.data``, ``u.item``, ``u.user``,
``u.genre``, ``u.occupation``, ``u.info``, the ``ua``/``ub`` and ``u1``–``u5`` splits made as
``mku.sh`` makes them), deterministic from a seed, so every reader in :mod:`utils.data` runs on it.

Users belong to planted *taste clusters*; each cluster prefers a few genres. A user picks movies
with probability proportional to ``popularity ** 0.6 * (taste_boost if the movie has a preferred
genre else 1)``, so a model that learns who likes what (a graph model) measurably beats one that
only counts popularity. A few movies are rated once, in a test split, so the "test movie unseen in
training" case of the real data occurs here too.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from utils.data import SYNTHETIC_MARKER

GENRES = (
    "unknown", "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary",
    "Drama", "Fantasy", "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi",
    "Thriller", "War", "Western",
)  # fmt: skip
OCCUPATIONS = (
    "administrator", "artist", "doctor", "educator", "engineer", "entertainment", "executive",
    "healthcare", "homemaker", "lawyer", "librarian", "marketing", "none", "other", "programmer",
    "retired", "salesman", "scientist", "student", "technician", "writer",
)  # fmt: skip
_ADJECTIVES = (
    "Silent", "Crimson", "Last", "Hidden", "Electric", "Frozen", "Golden", "Broken", "Midnight",
    "Lost", "Wild", "Quiet", "Burning", "Distant", "Secret", "Iron", "Velvet", "Hollow", "Bright",
    "Restless",
)  # fmt: skip
_NOUNS = (
    "Harbor", "Empire", "Garden", "River", "Signal", "Horizon", "Kingdom", "Mirror", "Station",
    "Frontier", "Orchard", "Circus", "Lighthouse", "Canyon", "Voyage", "Carnival", "Citadel",
    "Meadow", "Tide", "Engine",
)  # fmt: skip
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

#: Movies rated exactly once, and in the first ratings of their user, so they land in ``ua.test``.
NUM_UNSEEN_TEST_MOVIES = 2


def write_synthetic_ml100k(
    out_dir: Path | str,
    *,
    num_users: int = 300,
    num_items: int = 400,
    num_clusters: int = 6,
    min_ratings_per_user: int = 20,
    mean_extra_ratings: float = 30.0,
    taste_boost: float = 12.0,
    seed: int = 0,
) -> Path:
    """Write a synthetic ML-100K-format dataset into ``out_dir`` and return the folder.

    Every user has at least ``min_ratings_per_user`` (20, as in ML-100K) ratings, so the ``ua``
    split holds exactly 10 test ratings per user. The same arguments give byte-identical files.
    """
    if num_users < 2 or num_items < 40:
        raise ValueError("need at least 2 users and 40 movies for the splits to make sense.")
    if min_ratings_per_user < 20:
        raise ValueError("ML-100K users have at least 20 ratings; the ua/ub splits need them.")
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    item_genres = _item_genres(rng, num_items)
    cluster_tastes = [rng.choice(np.arange(1, len(GENRES)), size=3, replace=False) for _ in range(num_clusters)]
    user_cluster = rng.integers(num_clusters, size=num_users)
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.9
    popularity = popularity[rng.permutation(num_items)]
    # The last movies are kept for the "unseen in training" case: no user picks them by taste.
    ordinary = num_items - NUM_UNSEEN_TEST_MOVIES

    rows = []  # (user id, item id, rating, timestamp), per user in the order they rated
    for user in range(num_users):
        liked = item_genres[:ordinary, cluster_tastes[user_cluster[user]]].any(axis=1)
        weights = popularity[:ordinary] ** 0.6 * np.where(liked, taste_boost, 1.0)
        count = min(ordinary // 2, min_ratings_per_user + int(rng.geometric(1.0 / (mean_extra_ratings + 1))) - 1)
        chosen = rng.choice(ordinary, size=count, replace=False, p=weights / weights.sum())
        start = 874_724_710 + int(rng.integers(0, 15_000_000))
        for step, item in enumerate(chosen):
            mean = 4.0 if liked[item] else 2.6
            rating = int(np.clip(np.rint(rng.normal(mean, 0.9)), 1, 5))
            rows.append((user + 1, int(item) + 1, rating, start + 97 * step + int(rng.integers(0, 90))))

    ratings = np.array(rows, dtype=np.int64)
    ratings = ratings[rng.permutation(len(ratings))]
    unseen_rows = np.array(
        [(user + 1, ordinary + k + 1, 5, 874_724_700 + k) for k, user in enumerate(rng.choice(num_users, NUM_UNSEEN_TEST_MOVIES, replace=False))],
        dtype=np.int64,
    )
    ratings = np.vstack([unseen_rows, ratings])  # first in file order -> first of their user -> ua.test

    _write_ratings(out_dir / "u.data", ratings)
    _write_splits(out_dir, ratings)
    _write_items(out_dir / "u.item", rng, item_genres)
    _write_users(out_dir / "u.user", rng, num_users)
    (out_dir / "u.genre").write_text("".join(f"{name}|{index}\n" for index, name in enumerate(GENRES)) + "\n")
    (out_dir / "u.occupation").write_text("".join(f"{name}\n" for name in OCCUPATIONS))
    (out_dir / "u.info").write_text(f"{num_users} users\n{num_items} items\n{len(ratings)} ratings\n")
    (out_dir / SYNTHETIC_MARKER).write_text(
        f"Synthetic MovieLens-format data written by utils.synthetic (seed={seed}); not real ratings.\n"
    )
    return out_dir


def _item_genres(rng: np.random.Generator, num_items: int) -> np.ndarray:
    """A (num_items, 19) boolean matrix: each movie has 1 to 3 genres, never 'unknown'."""
    flags = np.zeros((num_items, len(GENRES)), dtype=bool)
    for item in range(num_items):
        count = rng.choice([1, 2, 3], p=[0.5, 0.35, 0.15])
        flags[item, rng.choice(np.arange(1, len(GENRES)), size=count, replace=False)] = True
    return flags


def _write_ratings(path: Path, ratings: np.ndarray) -> None:
    path.write_text("".join(f"{u}\t{i}\t{r}\t{t}\n" for u, i, r, t in ratings))


def _sorted(ratings: np.ndarray) -> np.ndarray:
    return ratings[np.lexsort((ratings[:, 1], ratings[:, 0]))] if len(ratings) else ratings


def _write_splits(out_dir: Path, ratings: np.ndarray) -> None:
    """The splits of ML-100K's ``mku.sh``: u1–u5 (5 folds in file order) and ua/ub (allbut.pl)."""
    fold = len(ratings) // 5
    for k in range(1, 6):
        test = np.arange((k - 1) * fold, k * fold)
        mask = np.zeros(len(ratings), dtype=bool)
        mask[test] = True
        _write_ratings(out_dir / f"u{k}.test", _sorted(ratings[mask]))
        _write_ratings(out_dir / f"u{k}.base", _sorted(ratings[~mask]))
    # allbut.pl: a user's n-th rating in file order goes to test when start <= n <= stop.
    seen_so_far: dict[int, int] = {}
    rank = np.empty(len(ratings), dtype=np.int64)
    for row, user in enumerate(ratings[:, 0]):
        seen_so_far[user] = seen_so_far.get(user, 0) + 1
        rank[row] = seen_so_far[user]
    for name, (start, stop) in {"ua": (1, 10), "ub": (11, 20)}.items():
        mask = (rank >= start) & (rank <= stop)
        _write_ratings(out_dir / f"{name}.test", _sorted(ratings[mask]))
        _write_ratings(out_dir / f"{name}.base", _sorted(ratings[~mask]))


def _write_items(path: Path, rng: np.random.Generator, item_genres: np.ndarray) -> None:
    titles: set[str] = set()
    lines = []
    for item, flags in enumerate(item_genres, start=1):
        year = int(rng.integers(1930, 1998))
        title = f"The {rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)}"
        while f"{title} ({year})" in titles:
            title += " II"
        titles.add(f"{title} ({year})")
        date = f"{int(rng.integers(1, 29)):02d}-{_MONTHS[int(rng.integers(12))]}-{year}"
        url = "http://example.org/synthetic/" + title.replace(" ", "%20")
        lines.append("|".join([str(item), f"{title} ({year})", date, "", url, *("1" if f else "0" for f in flags)]))
    path.write_bytes(("\n".join(lines) + "\n").encode("latin-1"))


def _write_users(path: Path, rng: np.random.Generator, num_users: int) -> None:
    lines = []
    for user in range(1, num_users + 1):
        age = int(rng.integers(7, 74))
        gender = "M" if rng.random() < 0.71 else "F"
        lines.append(f"{user}|{age}|{gender}|{rng.choice(OCCUPATIONS)}|{int(rng.integers(10000, 99999)):05d}")
    path.write_text("\n".join(lines) + "\n")


def main() -> None:
    """``python -m utils.synthetic OUT_DIR``: write the synthetic dataset (for trying things offline)."""
    import argparse

    parser = argparse.ArgumentParser(description="Write a synthetic MovieLens-100K-format dataset.")
    parser.add_argument("out_dir")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    folder = write_synthetic_ml100k(args.out_dir, num_users=args.users, num_items=args.items, seed=args.seed)
    print(f"wrote synthetic ML-100K-format data to {folder}")


if __name__ == "__main__":
    main()
