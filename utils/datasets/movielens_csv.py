"""MovieLens 20M, 25M, 32M and ``ml-latest-small``: CSV files with a header, UTF-8.

- ``ratings.csv``: ``userId,movieId,rating,timestamp``, ordered by user then movie; ratings are
  half stars 0.5–5.0 (float32).
- ``movies.csv``: ``movieId,title,genres``; a title holding a comma is quoted
  (``"American President, The (1995)"``, quotes inside doubled); genres are ``|``-separated names,
  or ``(no genres listed)`` (no genre).

The other files of the zips (``tags.csv``, ``links.csv``, ``genome-*.csv``) are not read. None of
these datasets ships a train/test split: they get the seeded per-user ``random`` split of
:func:`utils.datasets.base.per_user_split`. ``ratings.csv`` of 32M holds 32 million lines, so it is
parsed by pandas in one go; only when that fails does a line-by-line pass run to name the bad line.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from utils.data import RATING_COLUMNS, DatasetFormatError, DatasetSpec
from utils.datasets.base import (
    BYTE_ORDER_MARK,
    CORRUPT_FILE_FIX,
    MAX_ID,
    RATINGS_DTYPES,
    decode,
    genre_columns,
    has_bad_values,
    ratings_frame,
    require_file,
    scan_ratings_lines,
)

RATINGS_HEADER = "userId,movieId,rating,timestamp"
MOVIES_HEADER = ("movieId", "title", "genres")


def read_csv_ratings(path: Path | str) -> pd.DataFrame:
    """Read a ``ratings.csv`` into the ratings columns: int32 ids, float32 half-star ratings, int64 time."""
    path = require_file(Path(path))
    with open(path, "rb") as file:
        header = file.readline().removeprefix(BYTE_ORDER_MARK).decode("latin-1").strip()
        empty = not header and not file.read(1)
    if empty:
        raise DatasetFormatError(path, None, "the file holds no ratings.", CORRUPT_FILE_FIX)
    if header != RATINGS_HEADER:
        raise DatasetFormatError(path, 1, f"expected the header {RATINGS_HEADER!r}, got {header!r}.", CORRUPT_FILE_FIX)
    problem = None
    try:
        frame = pd.read_csv(path, skiprows=1, header=None, names=list(RATING_COLUMNS), dtype=RATINGS_DTYPES, engine="c")
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame(columns=list(RATING_COLUMNS))
    except (ValueError, OverflowError, pd.errors.ParserError) as error:
        problem = f"pandas could not parse it ({error})"
    else:
        if has_bad_values(frame, half_stars=True):
            problem = "an id or a rating is out of range"
    if problem is not None:
        text = decode(path, path.read_bytes(), ("latin-1",))
        scan_ratings_lines(path, text, separator=",", header=RATINGS_HEADER, half_stars=True)
        raise DatasetFormatError(path, None, f"{problem}.", CORRUPT_FILE_FIX)
    if frame.empty:
        raise DatasetFormatError(path, None, "the file holds no ratings.", CORRUPT_FILE_FIX)
    return ratings_frame(frame["user_id"], frame["item_id"], frame["rating"], frame["timestamp"], half_stars=True)


def read_csv_movies(data_dir: Path | str) -> tuple[pd.DataFrame, list[str]]:
    """Read ``movies.csv``: items (``item_id``, ``title``, one boolean column per genre) and the genre names."""
    path = require_file(Path(data_dir) / "movies.csv")
    text = decode(path, path.read_bytes(), ("utf-8",))
    try:
        frame = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, engine="c")
    except (ValueError, pd.errors.ParserError):
        frame = None
    if frame is None or not _movies_look_right(frame):
        _scan_movies(path, text)
        raise DatasetFormatError(path, None, "pandas could not parse it.", CORRUPT_FILE_FIX)
    return genre_columns(path, frame["movieId"].astype(np.int64).to_numpy(), frame["title"].tolist(), frame["genres"])


def _movies_look_right(frame: pd.DataFrame) -> bool:
    if tuple(frame.columns) != MOVIES_HEADER or frame.empty or frame.isna().any().any():
        return False
    ids = frame["movieId"]
    if not ids.str.fullmatch(r"\d{1,10}").all():
        return False
    numbers = ids.astype(np.int64)
    return bool(((numbers >= 1) & (numbers <= MAX_ID)).all() and frame["title"].str.strip().ne("").all())


def _scan_movies(path: Path, text: str) -> None:
    """Raise :class:`DatasetFormatError` at the first bad line of ``movies.csv``."""
    reader = csv.reader(io.StringIO(text))
    seen = 0
    for row in reader:
        line = reader.line_num
        if line == 1:
            if tuple(row) != MOVIES_HEADER:
                raise DatasetFormatError(path, 1, f"expected the header {','.join(MOVIES_HEADER)!r}, got {','.join(row)!r}.", CORRUPT_FILE_FIX)
            continue
        if not row:
            continue
        if len(row) != 3:
            raise DatasetFormatError(
                path, line, f"expected 3 comma-separated fields (movieId,title,genres; quote a title holding a comma), got {len(row)}.", CORRUPT_FILE_FIX
            )
        try:
            movie = int(row[0])
        except ValueError:
            raise DatasetFormatError(path, line, f"movie id is {row[0]!r}, not an integer.", CORRUPT_FILE_FIX) from None
        if not 1 <= movie <= MAX_ID:
            raise DatasetFormatError(path, line, f"movie id must be 1 to {MAX_ID}, got {movie}.", CORRUPT_FILE_FIX)
        if not row[1].strip():
            raise DatasetFormatError(path, line, f"movie {movie} has an empty title.", CORRUPT_FILE_FIX)
        seen += 1
    if not seen:
        raise DatasetFormatError(path, None, "the file lists no movie.", CORRUPT_FILE_FIX)


def spec(name: str, title: str, *, env_var: str, md5: str | None) -> DatasetSpec:
    """The :class:`DatasetSpec` of a dataset in this format (one registry entry in :mod:`utils.datasets`)."""
    return DatasetSpec(
        name=name,
        title=title,
        folder=name,
        env_var=env_var,
        url=f"https://files.grouplens.org/datasets/movielens/{name}.zip",
        md5=md5,
        required_files=("ratings.csv", "movies.csv"),
        ratings_file="ratings.csv",
        read_ratings=read_csv_ratings,
        items_file="movies.csv",
        read_items=read_csv_movies,
    )
