"""Synthetic datasets in the file formats of MovieLens, deterministic from a seed.

Tests and CI run without the real data (its licence forbids shipping it) and without a network.
:func:`write_synthetic` writes a folder in the file format of any of :data:`FORMATS`, so every reader
of :mod:`utils.data` and :mod:`utils.datasets` runs offline: ``ml-100k`` (``u.data``, ``u.item``,
``u.user``, ``u.genre``, ``u.occupation``, ``u.info``, and the ``ua``/``ub`` and ``u1``–``u5``
splits made as ``mku.sh`` makes them; :func:`write_synthetic_ml100k`), ``ml-1m`` and ``ml-10m``
(``::``-separated ``.dat`` files), ``ml-20m``, ``ml-25m``, ``ml-32m`` and ``ml-latest-small``
(CSV). :func:`shaped_pairs` gives the (user, movie) pairs of a dataset's shape in memory, split per
user, without writing anything.

One generator, :func:`draw_ratings`, makes the ratings of every writer: users belong to planted
*taste clusters*, each cluster prefers a few genres (:func:`draw_item_genres` gives each movie 1 to 3),
and a user picks movies with probability proportional to ``popularity × (taste_boost if the movie
has a preferred genre else 1)``, so a model that learns who likes what (a graph model) measurably
beats one that only counts popularity. Stars are drawn around 4 for a preferred genre, 2.6 otherwise.
A few movies are rated once, so the "test movie unseen in training" case of the real data occurs.

The generator draws in one of two orders. Every format but ML-100K draws all users at once
(vectorised, long-tailed): users' rating counts follow a log-normal tail above a floor of 20 (as in
MovieLens), movies' popularity a log-normal law, so :data:`SHAPES` (the published sizes of each
dataset) gives data of the real shape, up to ML-32M. ML-100K's files draw user after user
(popularity ``rank ** -0.54``, a geometric number of ratings above 20): CI's data and the numbers the
notebooks show are those files, byte for byte, and only that order of draws reproduces them.

Titles exercise the parsers: ``, The`` suffixes (a comma), subtitles after a colon, accented
letters, quotes. ``python -m utils.datasets.synthetic --format ml-1m --out DIR`` writes one folder: a
new or empty one, or with ``--force`` any other but a real dataset's (:func:`check_output_folder`).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from utils.data import SYNTHETIC_MARKER, is_synthetic
from utils.datasets.base import RANDOM_SPLIT_MIN_RATINGS, RANDOM_SPLIT_SEED, RANDOM_SPLIT_TEST_SHARE

#: ML-100K's genres, in the columns of ``u.item`` (no movie of the synthetic data is "unknown").
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

#: Every format :func:`write_synthetic` writes.
FORMATS = ("ml-100k", "ml-1m", "ml-10m", "ml-20m", "ml-25m", "ml-32m", "ml-latest-small")
#: (users, movies, ratings) as each dataset's README publishes them (ML-1M: the 3,706 movies that
#: have ratings), for writing synthetic data of the real shape: ``write_synthetic(f, d, **shape(f))``.
SHAPES = {
    "ml-100k": (943, 1_682, 100_000),
    "ml-1m": (6_040, 3_706, 1_000_209),
    "ml-10m": (71_567, 10_681, 10_000_054),
    "ml-20m": (138_493, 27_278, 20_000_263),
    "ml-25m": (162_541, 62_423, 25_000_095),
    "ml-32m": (200_948, 87_585, 32_000_204),
    "ml-latest-small": (610, 9_742, 100_836),
}
_GENRES_DAT = (
    "Action", "Adventure", "Animation", "Children's", "Comedy", "Crime", "Documentary", "Drama", "Fantasy",
    "Film-Noir", "Horror", "Musical", "Mystery", "Romance", "Sci-Fi", "Thriller", "War", "Western",
)  # fmt: skip
#: The genre names each format uses (10M adds IMAX; the CSV datasets also say "Children").
FORMAT_GENRES = {
    "ml-100k": GENRES,
    "ml-1m": _GENRES_DAT,
    "ml-10m": (*_GENRES_DAT, "IMAX"),
    **{name: tuple("Children" if g == "Children's" else g for g in (*_GENRES_DAT, "IMAX")) for name in FORMATS[3:]},
}
NO_GENRES = "(no genres listed)"
#: A movie has 1, 2 or 3 genres, with these probabilities.
GENRES_PER_MOVIE = (1, 2, 3)
GENRES_PER_MOVIE_PROBABILITIES = (0.5, 0.35, 0.15)
#: Mean stars of a movie of the user's cluster's genres, of any other movie, and the spread around them.
LIKED_STARS, OTHER_STARS, STARS_SPREAD = 4.0, 2.6, 0.9
#: Each user's ratings come 97 s apart, plus up to 90 s, from a start drawn in the format's era:
#: (earliest start, width of the window of starts), in Unix seconds.
RATING_INTERVAL, RATING_JITTER = 97, 90
ERAS = {"ml-100k": (874_724_710, 15_000_000), "ml-1m": (956_703_932, 90_000_000), "other": (789_652_009, 600_000_000)}
#: ML-100K's last movies are rated exactly once, in the first ratings of their user, so they land in ``ua.test``.
NUM_UNSEEN_TEST_MOVIES = 2
#: The other formats' last movies are rated exactly once by a random user (the random split puts
#: about a fifth of them in test, where they are unseen in training): 1 % of the catalogue, at least this many.
MIN_RARE_MOVIES = 5
_AGE_CODES = (1, 18, 25, 35, 45, 50, 56)
#: A movie's popularity (its weight, times the taste boost) is log-normal with this sigma: chosen
#: so that the ML-1M shape gives about the real spread of ratings per movie.
POPULARITY_SIGMA = 1.2
#: The taste boost of the long-tailed draw: its popularity spreads wider than ML-100K's, so a
#: cluster's genres need a stronger pull for a model of tastes to beat popularity as clearly.
TASTE_BOOST = 40.0
#: ML-100K's taste boost.
ML100K_TASTE_BOOST = 12.0


def shape(name: str) -> dict[str, int]:
    """``num_users``, ``num_items`` and ``num_ratings`` of the real dataset ``name`` (:data:`SHAPES`)."""
    users, items, ratings = SHAPES[name]
    return {"num_users": users, "num_items": items, "num_ratings": ratings}


def draw_item_genres(rng: np.random.Generator, num_items: int, num_genres: int, *, movie_by_movie: bool = False) -> np.ndarray:
    """A (num_items, num_genres) boolean matrix: each movie has 1 to 3 genres (:data:`GENRES_PER_MOVIE`), chosen uniformly.

    With ``movie_by_movie`` (ML-100K's order of draws) the genres are drawn one movie at a time,
    never column 0 (ML-100K's "unknown"); otherwise all movies at once, from every column.
    """
    if movie_by_movie:
        flags = np.zeros((num_items, num_genres), dtype=bool)
        for item in range(num_items):
            count = rng.choice(GENRES_PER_MOVIE, p=GENRES_PER_MOVIE_PROBABILITIES)
            flags[item, rng.choice(np.arange(1, num_genres), size=count, replace=False)] = True
        return flags
    counts = rng.choice(GENRES_PER_MOVIE, size=num_items, p=GENRES_PER_MOVIE_PROBABILITIES)
    ranks = np.argsort(rng.random((num_items, num_genres)), axis=1).argsort(axis=1)
    return ranks < counts[:, None]


def draw_ratings(
    rng: np.random.Generator,
    num_users: int,
    num_items: int,
    num_genres: int,
    *,
    num_ratings: int | None = None,
    num_clusters: int = 6,
    min_ratings_per_user: int = 20,
    taste_boost: float | None = None,
    half_stars: bool = True,
    era: tuple[int, int] = ERAS["other"],
    user_by_user: bool = False,
    mean_extra_ratings: float = 30.0,
) -> tuple[np.ndarray, pd.DataFrame]:
    """Every movie's genres and the ratings of users in planted taste clusters: the generator of every writer.

    Returns ``(item_genres, ratings)``: (num_items, num_genres) genre flags and a frame of 1-based
    ``user_id``, ``item_id``, ``rating``, ``timestamp`` (the law is in the module's docstring). By
    default all users at once: ``num_ratings`` (default 50 per user), at least ``min_ratings_per_user``
    and at most half the movies a user, sorted by user, then movie; ``taste_boost`` defaults to
    :data:`TASTE_BOOST`. ``user_by_user`` is ML-100K's draw: ``min_ratings_per_user`` plus a geometric
    number of mean ``mean_extra_ratings`` a user, in file order (shuffled, led by the
    :data:`NUM_UNSEEN_TEST_MOVIES` movies rated once); ``taste_boost`` defaults to
    :data:`ML100K_TASTE_BOOST`; ``num_ratings``, ``half_stars`` and ``era`` do not apply. Both draw the
    genres, then the clusters; the writers continue with ``rng`` (titles, users).
    """
    item_genres = draw_item_genres(rng, num_items, num_genres, movie_by_movie=user_by_user)
    first_genre = 1 if user_by_user else 0  # ML-100K's column 0 is "unknown"
    tastes = [rng.choice(np.arange(first_genre, num_genres), size=min(3, num_genres - first_genre), replace=False)
              for _ in range(num_clusters)]  # fmt: skip
    user_cluster = rng.integers(num_clusters, size=num_users)
    liked = np.stack([item_genres[:, taste].any(axis=1) for taste in tastes])  # (clusters, movies)
    if user_by_user:
        boost = ML100K_TASTE_BOOST if taste_boost is None else taste_boost
        ratings = _user_by_user(rng, liked, user_cluster, min_ratings_per_user, mean_extra_ratings, boost)
    else:
        boost = TASTE_BOOST if taste_boost is None else taste_boost
        total = 50 * num_users if num_ratings is None else num_ratings
        ratings = _all_users_at_once(rng, liked, user_cluster, total, min_ratings_per_user, boost, half_stars, era)
    return item_genres, ratings


def _user_by_user(
    rng: np.random.Generator,
    liked: np.ndarray,
    user_cluster: np.ndarray,
    min_per_user: int,
    mean_extra_ratings: float,
    taste_boost: float,
) -> pd.DataFrame:
    """ML-100K's draw: user after user, then the whole file shuffled, led by the movies rated once."""
    num_users, (_, num_items) = len(user_cluster), liked.shape
    popularity = 1.0 / np.arange(1, num_items + 1) ** 0.9
    popularity = popularity[rng.permutation(num_items)]
    # The last movies are kept for the "unseen in training" case: no user picks them by taste.
    ordinary = num_items - NUM_UNSEEN_TEST_MOVIES
    era_start, era_width = ERAS["ml-100k"]
    rows = []  # (user id, item id, rating, timestamp), per user in the order they rated
    for user in range(num_users):
        likes = liked[user_cluster[user], :ordinary]
        weights = popularity[:ordinary] ** 0.6 * np.where(likes, taste_boost, 1.0)
        count = min(ordinary // 2, min_per_user + int(rng.geometric(1.0 / (mean_extra_ratings + 1))) - 1)
        chosen = rng.choice(ordinary, size=count, replace=False, p=weights / weights.sum())
        start = era_start + int(rng.integers(0, era_width))
        for step, item in enumerate(chosen):
            stars = int(np.clip(np.rint(rng.normal(LIKED_STARS if likes[item] else OTHER_STARS, STARS_SPREAD)), 1, 5))
            rows.append((user + 1, int(item) + 1, stars, start + RATING_INTERVAL * step + int(rng.integers(0, RATING_JITTER))))
    ratings = np.array(rows, dtype=np.int64)
    ratings = ratings[rng.permutation(len(ratings))]
    once = rng.choice(num_users, NUM_UNSEEN_TEST_MOVIES, replace=False)
    unseen = [(user + 1, ordinary + k + 1, 5, era_start - 10 + k) for k, user in enumerate(once)]  # before any other rating
    ratings = np.vstack([np.array(unseen, dtype=np.int64), ratings])  # first in file order -> first of their user -> ua.test
    return pd.DataFrame(ratings, columns=["user_id", "item_id", "rating", "timestamp"])


def _all_users_at_once(
    rng: np.random.Generator,
    liked: np.ndarray,
    user_cluster: np.ndarray,
    num_ratings: int,
    min_per_user: int,
    taste_boost: float,
    half_stars: bool,
    era: tuple[int, int],
) -> pd.DataFrame:
    """The vectorised draw: long-tailed users and movies; sorted by user, then movie."""
    num_users, (num_clusters, num_items) = len(user_cluster), liked.shape
    rare = max(MIN_RARE_MOVIES, num_items // 100)
    ordinary = num_items - rare  # the last movies are each rated once, by a random user
    popularity = rng.lognormal(0.0, POPULARITY_SIGMA, size=ordinary)
    weights = popularity[None, :] * np.where(liked[:, :ordinary], taste_boost, 1.0)
    weights /= weights.sum(axis=1, keepdims=True)
    counts = _user_counts(rng, num_users, max(0, num_ratings - rare), min_per_user, cap=max(min_per_user, ordinary // 2))

    users, items = [], []
    for cluster in range(num_clusters):
        members = np.flatnonzero(user_cluster == cluster)
        if len(members):
            chosen_users, chosen_items = _sample_without_replacement(rng, members, counts[members], weights[cluster])
            users.append(chosen_users)
            items.append(chosen_items)
    users.append(rng.integers(num_users, size=rare))
    items.append(np.arange(ordinary, num_items))
    users, items = np.concatenate(users), np.concatenate(items)
    is_liked = np.zeros(len(users), dtype=bool)
    ordinary_rows = items < ordinary
    is_liked[ordinary_rows] = liked[user_cluster[users[ordinary_rows]], items[ordinary_rows]]
    raw = rng.normal(np.where(is_liked, LIKED_STARS, OTHER_STARS), STARS_SPREAD)
    rating = np.clip(np.rint(raw * 2) / 2, 0.5, 5.0) if half_stars else np.clip(np.rint(raw), 1, 5)
    order = np.lexsort((items, users))
    users, items, rating = users[order], items[order], rating[order]
    start = era[0] + rng.integers(0, era[1], size=num_users)
    rank = np.arange(len(users)) - np.searchsorted(users, users)  # position within the user's block
    timestamps = start[users] + RATING_INTERVAL * rank + rng.integers(0, RATING_JITTER, size=len(users))
    return pd.DataFrame({"user_id": users + 1, "item_id": items + 1, "rating": rating, "timestamp": timestamps})


def _user_counts(rng: np.random.Generator, num_users: int, total: int, floor: int, cap: int) -> np.ndarray:
    """Ratings per user: ``floor`` plus a log-normal tail, scaled so they sum to about ``total``, at most ``cap``."""
    tail = rng.lognormal(0.0, 1.1, size=num_users)
    wanted = max(0, total - floor * num_users)
    scale = wanted / tail.sum() if tail.sum() else 0.0
    for _ in range(20):  # capping the heaviest users loses ratings: spread them over the others
        counts = np.minimum(cap, floor + np.floor(tail * scale).astype(np.int64))
        if counts.sum() >= total or (counts == cap).all() or scale == 0:
            break
        scale *= 1 + (total - counts.sum()) / max(1, counts.sum() - floor * num_users)
    return np.minimum(cap, np.maximum(floor, counts))


def _sample_without_replacement(
    rng: np.random.Generator, users: np.ndarray, counts: np.ndarray, weights: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``counts[u]`` distinct movies for each user, drawn with probability ``weights`` without replacement.

    The first distinct movies of a stream drawn with replacement are a draw without replacement, so
    most users need one vectorised draw; the few heavy users whose stream is short of distinct
    movies get the exact Gumbel-top-k draw instead.
    """
    num_items = len(weights)
    draws = np.ceil(counts * 1.5).astype(np.int64) + 8
    owner = np.repeat(np.arange(len(users)), draws)
    stream = rng.choice(num_items, size=len(owner), p=weights)
    key = owner * num_items + stream
    _, first = np.unique(key, return_index=True)
    is_first = np.zeros(len(key), dtype=bool)
    is_first[first] = True
    seen = np.cumsum(is_first)
    before = np.r_[0, seen[np.cumsum(draws)[:-1] - 1]]
    rank = seen - np.repeat(before, draws)
    keep = is_first & (rank <= np.repeat(counts, draws))
    got = np.bincount(owner[keep], minlength=len(users))
    short = np.flatnonzero(got < counts)
    keep &= ~np.isin(owner, short)
    out_users, out_items = [users[owner[keep]]], [stream[keep]]
    log_weights = np.log(weights)
    batch = max(1, 20_000_000 // num_items)
    for start in range(0, len(short), batch):
        chunk = short[start:start + batch]
        keys = log_weights[None, :] + rng.gumbel(size=(len(chunk), num_items))
        order = np.argsort(-keys, axis=1)
        for row, user in enumerate(chunk):
            out_users.append(np.full(counts[user], users[user]))
            out_items.append(order[row, : counts[user]])
    return np.concatenate(out_users), np.concatenate(out_items)


# ---------------------------------------------------------------------------------------------
# Writers
# ---------------------------------------------------------------------------------------------


class OutputFolderError(FileExistsError):
    """The folder to write holds files that are not ours: a real dataset (never written over), or
    anything else without ``force``."""


def check_output_folder(out_dir: Path | str, *, force: bool = False) -> None:
    """Refuse, before anything is written, a folder whose files the writers could overwrite.

    A folder holding any file of a MovieLens dataset (``u.data``, ``ua.base``, ``ratings.csv``, ...)
    without the :data:`~utils.data.SYNTHETIC_MARKER` the writers leave is taken for a real copy and
    refused even with ``force``: those files are downloaded or edited by hand, and their content
    cannot tell them from ours. Any other non-empty folder needs ``force``: one written here before
    (its files are replaced), or one of unrelated files (none has a MovieLens name, so none is
    replaced). A folder that does not exist yet, or is empty, is fine.
    """
    from utils.datasets import DATASETS  # the file names of every format

    folder = Path(out_dir)
    present = sorted(entry.name for entry in folder.iterdir()) if folder.is_dir() else []
    known = {name for spec in DATASETS.values() for name in (*spec.required_files, *sum(spec.shipped_splits.values(), ()))}
    dataset_files = [] if is_synthetic(folder) else [name for name in present if name in known]
    if dataset_files:
        raise OutputFolderError(
            f"{folder} holds MovieLens files ({', '.join(dataset_files[:4])}) and no {SYNTHETIC_MARKER} marker: "
            "it looks like a real dataset, which synthetic files never replace (not even with --force), so nothing "
            "was written; choose a new or empty folder."
        )
    if present and not force:
        shown = ", ".join(present[:3]) + (", ..." if len(present) > 3 else "")
        raise OutputFolderError(
            f"{folder} is not empty (it holds {shown}), so nothing was written; choose a new or empty folder, "
            "or add --force (force=True) to write the synthetic files into it."
        )


def write_synthetic(
    format: str,
    out_dir: Path | str,
    *,
    num_users: int = 300,
    num_items: int = 400,
    num_ratings: int | None = None,
    num_clusters: int = 6,
    min_ratings_per_user: int = 20,
    taste_boost: float | None = None,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Write a synthetic dataset in the file format of ``format`` (one of :data:`FORMATS`) into ``out_dir``.

    ``num_ratings`` (default: 50 per user) sets the size; the same arguments give byte-identical
    files. ``taste_boost`` defaults to :data:`TASTE_BOOST` (:data:`ML100K_TASTE_BOOST` for
    ``ml-100k``). ``ml-100k`` is :func:`write_synthetic_ml100k` (``num_ratings`` then sets its mean
    count per user). A non-empty ``out_dir`` needs ``force``, and a real dataset's folder is refused
    (:func:`check_output_folder`).
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose from {', '.join(FORMATS)}.")
    if format == "ml-100k":
        extra = {} if num_ratings is None else {"mean_extra_ratings": max(1.0, num_ratings / num_users - min_ratings_per_user)}
        return write_synthetic_ml100k(
            out_dir, num_users=num_users, num_items=num_items, num_clusters=num_clusters,
            min_ratings_per_user=min_ratings_per_user, taste_boost=taste_boost, seed=seed, force=force, **extra,
        )  # fmt: skip
    if num_users < 2 or num_items < 40:
        raise ValueError("need at least 2 users and 40 movies for the splits to make sense.")
    if min_ratings_per_user < 5:
        raise ValueError("the random split holds out ratings only of users with 5 or more; MovieLens users have 20.")
    check_output_folder(out_dir, force=force)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    genres = FORMAT_GENRES[format]
    item_genres, ratings = draw_ratings(
        rng, num_users, num_items, len(genres), num_ratings=num_ratings, num_clusters=num_clusters,
        min_ratings_per_user=min_ratings_per_user, taste_boost=taste_boost, half_stars=format != "ml-1m",
        era=ERAS.get(format, ERAS["other"]),
    )  # fmt: skip
    titles = _titles(rng, num_items, wide_unicode=format in FORMATS[3:])
    genre_text = _genre_text(rng, item_genres, genres, no_genres=format != "ml-1m")
    if format in ("ml-1m", "ml-10m"):
        _write_dat_ratings(out_dir / "ratings.dat", ratings, half_stars=format == "ml-10m")
        encoding = "latin-1" if format == "ml-1m" else "utf-8"
        lines = [f"{item}::{title}::{text}\n" for item, title, text in zip(range(1, num_items + 1), titles, genre_text)]
        (out_dir / "movies.dat").write_bytes("".join(lines).encode(encoding))
        if format == "ml-1m":
            _write_dat_users(out_dir / "users.dat", rng, num_users)
    else:
        _write_csv_ratings(out_dir / "ratings.csv", ratings)
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(("movieId", "title", "genres"))
        writer.writerows(zip(range(1, num_items + 1), titles, genre_text))
        (out_dir / "movies.csv").write_bytes(buffer.getvalue().encode("utf-8"))
    (out_dir / SYNTHETIC_MARKER).write_text(
        f"Synthetic MovieLens-format data ({format}) written by utils.datasets.synthetic (seed={seed}); not real ratings.\n"
    )
    return out_dir


def write_synthetic_ml100k(
    out_dir: Path | str,
    *,
    num_users: int = 300,
    num_items: int = 400,
    num_clusters: int = 6,
    min_ratings_per_user: int = 20,
    mean_extra_ratings: float = 30.0,
    taste_boost: float | None = None,
    seed: int = 0,
    force: bool = False,
) -> Path:
    """Write a synthetic ML-100K-format dataset into ``out_dir`` and return the folder.

    Every user has at least ``min_ratings_per_user`` (20, as in ML-100K) ratings, so the ``ua``
    split holds exactly 10 test ratings per user; ``taste_boost`` defaults to
    :data:`ML100K_TASTE_BOOST`. The same arguments give byte-identical files. A non-empty ``out_dir``
    needs ``force``, and a real dataset's folder is refused (:func:`check_output_folder`).
    """
    if num_users < 2 or num_items < 40:
        raise ValueError("need at least 2 users and 40 movies for the splits to make sense.")
    if min_ratings_per_user < 20:
        raise ValueError("ML-100K users have at least 20 ratings; the ua/ub splits need them.")
    check_output_folder(out_dir, force=force)
    rng = np.random.default_rng(seed)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    item_genres, frame = draw_ratings(
        rng, num_users, num_items, len(GENRES), num_clusters=num_clusters, min_ratings_per_user=min_ratings_per_user,
        taste_boost=taste_boost, user_by_user=True, mean_extra_ratings=mean_extra_ratings,
    )  # fmt: skip
    ratings = frame.to_numpy(dtype=np.int64)
    _write_ratings(out_dir / "u.data", ratings)
    _write_splits(out_dir, ratings)
    _write_items(out_dir / "u.item", rng, item_genres)
    _write_users(out_dir / "u.user", rng, num_users)
    (out_dir / "u.genre").write_text("".join(f"{name}|{index}\n" for index, name in enumerate(GENRES)) + "\n")
    (out_dir / "u.occupation").write_text("".join(f"{name}\n" for name in OCCUPATIONS))
    (out_dir / "u.info").write_text(f"{num_users} users\n{num_items} items\n{len(ratings)} ratings\n")
    (out_dir / SYNTHETIC_MARKER).write_text(
        f"Synthetic MovieLens-format data written by utils.datasets.synthetic (seed={seed}); not real ratings.\n"
    )
    return out_dir


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


def _titles(rng: np.random.Generator, num_items: int, *, wide_unicode: bool) -> list[str]:
    """Unique MovieLens-style titles ``Name (year)``, some with ``, The``, a colon, accents or quotes."""
    adjectives = np.array(_ADJECTIVES)[rng.integers(len(_ADJECTIVES), size=num_items)]
    nouns = np.array(_NOUNS)[rng.integers(len(_NOUNS), size=num_items)]
    years = rng.integers(1919, 2023, size=num_items)
    accented = "Ōkami" if wide_unicode else "Café"
    titles, seen = [], {}
    for index, (adjective, noun, year) in enumerate(zip(adjectives, nouns, years)):
        kind = index % 13
        if kind == 3:
            base = f"{adjective} {noun}, The"  # MovieLens moves the article behind a comma
        elif kind == 5:
            base = f"{adjective} {noun}: Return to the {noun}"
        elif kind == 7:
            base = f"{accented} {noun} à la {adjective}"
        elif kind == 9:
            base = f'"{adjective}" {noun}'
        else:
            base = f"{adjective} {noun}"
        seen[base] = seen.get(base, 0) + 1
        sequel = f" {seen[base]}" if seen[base] > 1 else ""
        titles.append(f"{base}{sequel} ({year})")
    return titles


def _genre_text(rng: np.random.Generator, item_genres: np.ndarray, genres: tuple[str, ...], *, no_genres: bool) -> list[str]:
    """``|``-separated genre names per movie; with ``no_genres``, a few movies say ``(no genres listed)``."""
    names = np.array(genres)
    texts = ["|".join(names[flags]) for flags in item_genres]
    if no_genres:
        for index in rng.choice(len(texts), size=max(1, len(texts) // 200), replace=False):
            texts[index] = NO_GENRES
    return texts


def _rating_strings(ratings: np.ndarray, style: str) -> np.ndarray:
    """Ratings as the files write them: ``"4"``/``"3.5"`` (.dat) or ``"4.0"``/``"3.5"`` (CSV)."""
    halves = np.rint(np.asarray(ratings, dtype=np.float64) * 2).astype(np.int64)
    if style == "dat":
        table = np.array([str(h // 2) if h % 2 == 0 else f"{h / 2:.1f}" for h in range(11)], dtype=object)
    else:
        table = np.array([f"{h / 2:.1f}" for h in range(11)], dtype=object)
    return table[halves]


def _write_dat_ratings(path: Path, ratings: pd.DataFrame, *, half_stars: bool) -> None:
    frame = ratings.assign(rating=_rating_strings(ratings["rating"], "dat") if half_stars else ratings["rating"].astype(np.int64))
    text = frame.to_csv(sep="\t", header=False, index=False, lineterminator="\n")
    path.write_bytes(text.replace("\t", "::").encode("ascii"))


def _write_csv_ratings(path: Path, ratings: pd.DataFrame) -> None:
    frame = ratings.assign(rating=_rating_strings(ratings["rating"], "csv"))
    frame.columns = ["userId", "movieId", "rating", "timestamp"]
    path.write_bytes(frame.to_csv(index=False, lineterminator="\n").encode("ascii"))


def _write_dat_users(path: Path, rng: np.random.Generator, num_users: int) -> None:
    gender = np.where(rng.random(num_users) < 0.71, "M", "F")
    age = np.array(_AGE_CODES)[rng.integers(len(_AGE_CODES), size=num_users)]
    occupation = rng.integers(21, size=num_users)
    zip_code = rng.integers(10000, 99999, size=num_users)
    lines = [f"{u}::{g}::{a}::{o}::{z:05d}\n" for u, g, a, o, z in zip(range(1, num_users + 1), gender, age, occupation, zip_code)]
    path.write_text("".join(lines), encoding="ascii")


def shaped_pairs(
    name_or_shape: str | tuple[int, int, int], seed: int = 0, test_per_user: float | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int, int]:
    """In-memory (user, movie) index pairs of a dataset's shape, split per user: nothing is written.

    ``name_or_shape`` is a name of :data:`SHAPES` or ``(users, movies, ratings)``. The pairs are
    those :func:`draw_ratings` draws for that shape and ``seed`` with all users at once (the genres of
    the named format, ML-25M's for a tuple; 6 clusters; at least 20 ratings a user), so
    ``write_synthetic(f, d, **shape(f), seed=s)`` writes exactly these pairs for every format but
    ``ml-100k``, whose files draw user by user. A shape asks for at least ``20 × users`` ratings.
    About 1 % of the movies are rated once, and some of those land only in test: a test movie unseen
    in training keeps its index.

    The split is the rule of the datasets' ``random`` split (:func:`utils.datasets.base.per_user_split`,
    with its seed): a user with ``n >= 5`` ratings holds out ``⌊test_per_user · n⌋`` (at least 1) of
    them, ``test_per_user`` defaulting to its 20 %. It is the draw ``per_user_split`` makes on these
    pairs, taken ten times faster: they come sorted by user, so one integer sort of
    ``user · 2^b + ⌊key · 2^b⌋`` (``b = 63 −`` the bits of the largest user, 45 for ML-25M) replaces
    its lexicographic sort of (user, key); the two differ only where two keys of one user agree in
    their first ``b`` bits.

    Returns ``(train_users, train_items, test_users, test_items, num_users, num_items)``: int64
    0-based indices, sorted by user then movie. ML-25M's shape takes about 40 s and 3 GB at its peak.
    """
    share = RANDOM_SPLIT_TEST_SHARE if test_per_user is None else float(test_per_user)
    if not 0 < share < 1:
        raise ValueError(f"test_per_user is the share of each user's ratings held out, strictly between 0 and 1; got {share}.")
    if isinstance(name_or_shape, str):
        if name_or_shape not in SHAPES:
            raise ValueError(f"unknown shape {name_or_shape!r}; choose from {', '.join(SHAPES)} or give (users, movies, ratings).")
        num_users, num_items, num_ratings = SHAPES[name_or_shape]
        genres = len(FORMAT_GENRES[name_or_shape])
    else:
        num_users, num_items, num_ratings = (int(value) for value in name_or_shape)
        genres = len(FORMAT_GENRES["ml-25m"])
    if num_users < 2 or num_items < 40:
        raise ValueError("need at least 2 users and 40 movies for the splits to make sense.")
    _, ratings = draw_ratings(np.random.default_rng(seed), num_users, num_items, genres, num_ratings=num_ratings)
    users = ratings["user_id"].to_numpy(dtype=np.int64) - 1  # sorted by user, then movie
    items = ratings["item_id"].to_numpy(dtype=np.int64) - 1
    del ratings
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    keys = np.random.default_rng(RANDOM_SPLIT_SEED).random(len(users))
    bits = 63 - int(users[-1]).bit_length()
    by_key = np.argsort((users << bits) | (keys * 2.0**bits).astype(np.int64), kind="stable")
    del keys
    rank = np.empty(len(users), dtype=np.int64)
    rank[by_key] = np.arange(len(users)) - np.repeat(starts, counts)
    del by_key
    held_per_user = np.where(counts >= RANDOM_SPLIT_MIN_RATINGS, np.maximum(1, np.floor(counts * share + 1e-9)), 0)
    held = rank < np.repeat(held_per_user.astype(np.int64), counts)
    del rank
    return users[~held], items[~held], users[held], items[held], num_users, num_items


def main(argv=None) -> None:
    """``python -m utils.datasets.synthetic [OUT_DIR] [--format F --out DIR]``: write a synthetic dataset (for trying things offline)."""
    import argparse
    import tempfile

    parser = argparse.ArgumentParser(
        prog="python -m utils.datasets.synthetic",
        description="Write a synthetic dataset in the file format of a MovieLens dataset (default ML-100K).",
    )
    parser.add_argument("out_dir", nargs="?", help="the folder to write (or --out)")
    parser.add_argument("--out", help="the folder to write")
    parser.add_argument("--format", default="ml-100k", choices=FORMATS, help="whose file format (default: %(default)s)")
    parser.add_argument("--shape", choices=list(SHAPES), help="the users, movies and ratings of this real dataset")
    parser.add_argument("--users", type=int, help="users (default 300)")
    parser.add_argument("--items", type=int, help="movies (default 400)")
    parser.add_argument("--ratings", type=int, help="ratings (default about 50 per user)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--force", action="store_true", help="write into a non-empty folder (never one holding a real dataset)")
    args = parser.parse_args(argv)
    out = args.out or args.out_dir
    if not out or (args.out and args.out_dir):
        parser.error("name the folder to write once: OUT_DIR or --out DIR.")
    sizes = shape(args.shape) if args.shape else {"num_users": 300, "num_items": 400, "num_ratings": None}
    for option, key in (("users", "num_users"), ("items", "num_items"), ("ratings", "num_ratings")):
        if getattr(args, option) is not None:
            sizes[key] = getattr(args, option)
    for option, least, why in (("users", 2, "the splits need two users"), ("items", 40, "the genres and splits need 40"),
                               ("ratings", 1, "")):  # fmt: skip
        if getattr(args, option) is not None and getattr(args, option) < least:
            raise SystemExit(f"error: --{option} must be {least} or more{f' ({why})' if why else ''}, got "
                             f"{getattr(args, option)}. Fix: a larger number, or leave --{option} out for the default.")  # fmt: skip
    folder = Path(out)
    try:  # before drawing anything: a path that cannot be a folder, or a folder that cannot be written
        folder.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=folder).close()
    except OSError as error:
        blocking = next((path for path in (folder, *folder.parents) if path.exists() and not path.is_dir()), None)
        raise SystemExit(f"error: cannot write into {folder}: {f'{blocking} is not a folder' if blocking else error.strerror or error}. "
                         "Fix: name a folder you can create and write, e.g. --out /tmp/synthetic-ml100k.") from None  # fmt: skip
    try:
        folder = write_synthetic(args.format, out, seed=args.seed, force=args.force, **sizes)
    except OutputFolderError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"wrote synthetic {'ML-100K' if args.format == 'ml-100k' else args.format}-format data to {folder}")


if __name__ == "__main__":
    main()
