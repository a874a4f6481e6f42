"""What the readers of the other MovieLens formats share, and the per-user split of the datasets that ship none.

:mod:`utils.datasets.movielens_dat` (1M, 10M) and :mod:`utils.datasets.movielens_csv` (20M, 25M,
32M, ``ml-latest-small``) parse files of millions of lines with pandas in one go; the checks here
name the first bad line when that fails. MovieLens 100K needs none of it (:mod:`utils.data`).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from utils.data import DatasetFormatError, DatasetNotFoundError

#: Settings of the ``random`` split (:func:`per_user_split`): the share of each user's ratings held
#: out, the fewest ratings a user needs to lose any, and the seed. Changing one changes every number
#: measured on the split.
RANDOM_SPLIT_TEST_SHARE = 0.2
RANDOM_SPLIT_MIN_RATINGS = 5
RANDOM_SPLIT_SEED = 0
#: The largest user or movie id (ids are stored as int32).
MAX_ID = int(np.iinfo(np.int32).max)
#: What the fast readers parse the columns as (pandas raises on ids past int32 and on non-numbers).
RATINGS_DTYPES = {"user_id": np.int32, "item_id": np.int32, "rating": np.float32, "timestamp": np.int64}
#: The UTF-8 byte-order mark some editors and spreadsheets write at the start of a file: no content.
BYTE_ORDER_MARK = b"\xef\xbb\xbf"

# ---------------------------------------------------------------------------------------------
# Reading: shared checks
# ---------------------------------------------------------------------------------------------

#: The fix of a format error in a file read directly; :func:`utils.data.load_movielens` names the
#: dataset's own command and environment variable instead.
CORRUPT_FILE_FIX = (
    "the file looks truncated or corrupt: delete the folder and download it again "
    "(`python -m utils.data --dataset NAME`), or point the dataset's environment variable at a clean copy."
)


def require_file(path: Path) -> Path:
    """``path`` itself, or :class:`DatasetNotFoundError` saying how to get the data."""
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist.",
            "download the dataset again (`python -m utils.data --dataset NAME`), "
            "or point its environment variable (ML1M_DIR, ML25M_DIR, ...) at a complete copy.",
        )
    return path


def decode(path: Path, raw: bytes, encodings: Sequence[str]) -> str:
    """``raw`` decoded with the first of ``encodings`` that works (latin-1 always does), less a byte-order mark."""
    raw = raw.removeprefix(BYTE_ORDER_MARK)
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as error:
            last = error
    line = raw[: last.start].count(b"\n") + 1
    raise DatasetFormatError(path, line, f"the text is not {' or '.join(encodings)}: {last.reason}.", CORRUPT_FILE_FIX)


def has_bad_values(frame: pd.DataFrame, half_stars: bool) -> bool:
    """Whether a parsed ratings frame has an id below 1 or a rating off the scale (vectorised)."""
    bad_id = (frame["user_id"].to_numpy() < 1) | (frame["item_id"].to_numpy() < 1)
    ratings = frame["rating"].to_numpy(dtype=np.float64)
    doubled = ratings * 2
    if half_stars:
        bad_rating = ~((doubled >= 1) & (doubled <= 10) & (doubled == np.round(doubled)))
    else:
        bad_rating = ~((ratings >= 1) & (ratings <= 5) & (ratings == np.round(ratings)))
    return bool(bad_id.any() or bad_rating.any())


def rating_problem(text: str, half_stars: bool) -> str | None:
    """Why the rating ``text`` is not one of the scale, or None."""
    try:
        value = float(text)
    except ValueError:
        return f"rating is {text!r}, not a number."
    if half_stars:
        if not (0.5 <= value <= 5.0 and value * 2 == round(value * 2)):
            return f"rating {text} is not one of 0.5, 1.0, ..., 5.0 (half stars)."
    elif not (1 <= value <= 5 and value == round(value)):
        return f"rating {text} is outside 1-5." if value == round(value) else f"rating {text} is not a whole star (1-5)."
    return None


def scan_ratings_lines(
    path: Path, text: str, *, separator: str, header: str | None, half_stars: bool, fix: str = CORRUPT_FILE_FIX
) -> None:
    """Walk the lines of a ratings file and raise :class:`DatasetFormatError` at the first bad one.

    The fast readers parse whole files with pandas; only when that fails does this slow, exact pass
    run, to name the line and what is wrong with it.
    """
    names = ("user_id", "item_id")
    shown = "tab" if separator == "\t" else repr(separator)
    for line_number, line in enumerate(text.splitlines(), start=1):
        if line_number == 1 and header is not None:
            if line.strip() != header:
                raise DatasetFormatError(path, 1, f"expected the header {header!r}, got {line!r}.", fix)
            continue
        if not line.strip():
            continue
        fields = line.split(separator)
        if len(fields) != 4:
            raise DatasetFormatError(
                path, line_number, f"expected 4 {shown}-separated fields (user, item, rating, time), got {len(fields)}.", fix
            )
        for name, value in (*zip(names, fields[:2]), ("timestamp", fields[3])):
            try:
                number = int(value)
            except ValueError:
                raise DatasetFormatError(path, line_number, f"{name} is {value!r}, not an integer.", fix) from None
            if name != "timestamp" and not 1 <= number <= MAX_ID:
                raise DatasetFormatError(
                    path, line_number, f"ids must be 1 to {MAX_ID}, got user {fields[0]}, item {fields[1]}.", fix
                )
        problem = rating_problem(fields[2], half_stars)
        if problem:
            raise DatasetFormatError(path, line_number, problem, fix)


def ratings_frame(users, items, ratings, timestamps, half_stars: bool) -> pd.DataFrame:
    """The ratings columns in their dtypes: int32 ids, int8 whole stars or float32 half stars, int64 time."""
    return pd.DataFrame(
        {
            "user_id": np.asarray(users, dtype=np.int32),
            "item_id": np.asarray(items, dtype=np.int32),
            "rating": np.asarray(ratings, dtype=np.float32 if half_stars else np.int8),
            "timestamp": np.asarray(timestamps, dtype=np.int64),
        }
    )


def genre_columns(path: Path, item_ids: np.ndarray, titles: Sequence[str], genres: pd.Series) -> tuple[pd.DataFrame, list[str]]:
    """Items with one boolean column per genre, from ``|``-separated genre names.

    The genres are the names that occur, sorted; ``(no genres listed)`` is no genre (all flags false),
    as a movie of ML-100K with only ``unknown`` set is no genre a model can use either.
    """
    dummies = genres.fillna("").str.get_dummies(sep="|")
    dummies = dummies.drop(columns=[c for c in dummies.columns if c in ("(no genres listed)", "")])
    names = sorted(dummies.columns)
    items = pd.DataFrame({"item_id": np.asarray(item_ids, dtype=np.int32), "title": list(titles)})
    flags = pd.DataFrame({name: dummies[name].to_numpy() > 0 for name in names}, index=items.index)
    items = pd.concat([items, flags], axis=1)
    if items["item_id"].duplicated().any():
        duplicate = int(items.loc[items["item_id"].duplicated(), "item_id"].iloc[0])
        raise DatasetFormatError(path, None, f"movie id {duplicate} appears twice.", CORRUPT_FILE_FIX)
    return items, names


# ---------------------------------------------------------------------------------------------
# The split of the datasets that ship none
# ---------------------------------------------------------------------------------------------


def per_user_split(
    ratings: pd.DataFrame,
    *,
    test_share: float = RANDOM_SPLIT_TEST_SHARE,
    min_ratings: int = RANDOM_SPLIT_MIN_RATINGS,
    seed: int = RANDOM_SPLIT_SEED,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``random`` split: hold out ``⌊test_share · n⌋`` (at least 1) random ratings of each user.

    A user with ``n >= min_ratings`` ratings gives ``max(1, ⌊test_share · n⌋)`` of them, drawn
    uniformly with ``seed``, to the test part; a user with fewer keeps all in training, so every test
    user has training ratings. With the defaults (20 %, 5, seed 0) and MovieLens' 20 or more
    ratings per user, every user has at least 4 test ratings. The draw depends only on the set of
    (user, movie) pairs, not on the order of the file. Both parts come back sorted by user, then
    movie, with a fresh index.
    """
    if not 0 < test_share < 1:
        raise ValueError(f"test_share must lie strictly between 0 and 1, got {test_share}.")
    order = np.lexsort((ratings["item_id"].to_numpy(), ratings["user_id"].to_numpy()))
    ordered = ratings.iloc[order].reset_index(drop=True)
    users = ordered["user_id"].to_numpy()
    if len(users) == 0:
        return ordered, ordered.copy()
    starts = np.flatnonzero(np.r_[True, users[1:] != users[:-1]])
    counts = np.diff(np.r_[starts, len(users)])
    keys = np.random.default_rng(seed).random(len(users))
    by_key = np.lexsort((keys, users))  # each user's rows stay in the user's block, shuffled
    rank = np.empty(len(users), dtype=np.int64)
    rank[by_key] = np.arange(len(users)) - np.repeat(starts, counts)
    held_per_user = np.where(counts >= min_ratings, np.maximum(1, np.floor(counts * test_share + 1e-9)), 0)
    held = rank < np.repeat(held_per_user, counts)
    return ordered[~held].reset_index(drop=True), ordered[held].reset_index(drop=True)
