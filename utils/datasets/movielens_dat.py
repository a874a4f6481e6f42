"""MovieLens 1M and 10M: ``::``-separated ``.dat`` files.

- ``ratings.dat``: ``UserID::MovieID::Rating::Timestamp``, no header. 1M: whole stars 1–5 (int8);
  10M: half stars 0.5–5.0 (float32).
- ``movies.dat``: ``MovieID::Title::Genres``, genres ``|``-separated names (1M: latin-1; 10M: read
  as UTF-8, falling back to latin-1). Titles hold single colons (``Star Wars: Episode IV ...``),
  never ``::``.
- ``users.dat`` (1M only): ``UserID::Gender::Age::Occupation::Zip-code``, where Age is the code of
  an age range (1 "Under 18", 18 "18-24", 25, 35, 45, 50, 56 "56+") and Occupation a code 0–20
  (:data:`OCCUPATIONS`).

Neither ships a train/test split (10M's ``split_ratings.sh`` writes ``r1``–``r5``/``ra``/``rb``
only when run; they are not read here), so both get the seeded per-user ``random`` split of
:func:`utils.datasets.base.per_user_split`. The 10M zip unpacks to a folder named ``ml-10M100K``.

Ratings files of millions of lines are parsed by pandas in one go (``::`` turned into tabs first);
only when that fails does a line-by-line pass run, to name the first bad line.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from utils.data import RATING_COLUMNS, DatasetFormatError, DatasetSpec
from utils.datasets.base import (
    BYTE_ORDER_MARK,
    CORRUPT_FILE_FIX,
    RATINGS_DTYPES,
    decode,
    genre_columns,
    has_bad_values,
    ratings_frame,
    require_file,
    scan_ratings_lines,
)

SEPARATOR = "::"
#: The occupations of ML-1M's ``users.dat``, by code (its README).
OCCUPATIONS = (
    "other", "academic/educator", "artist", "clerical/admin", "college/grad student", "customer service",
    "doctor/health care", "executive/managerial", "farmer", "homemaker", "K-12 student", "lawyer",
    "programmer", "retired", "sales/marketing", "scientist", "self-employed", "technician/engineer",
    "tradesman/craftsman", "unemployed", "writer",
)  # fmt: skip
#: The age codes of ML-1M's ``users.dat``: each is the lowest age of its range.
AGE_CODES = (1, 18, 25, 35, 45, 50, 56)


def read_dat_ratings(path: Path | str, *, half_stars: bool) -> pd.DataFrame:
    """Read a ``ratings.dat`` (``UserID::MovieID::Rating::Timestamp``) into the ratings columns.

    ``user_id``/``item_id`` int32, ``rating`` int8 (whole stars) or float32 (``half_stars``),
    ``timestamp`` int64, in file order. A bad line raises :class:`DatasetFormatError` naming it.
    """
    path = require_file(Path(path))
    raw = path.read_bytes().removeprefix(BYTE_ORDER_MARK)
    if not raw.strip():
        raise DatasetFormatError(path, None, "the file holds no ratings.", CORRUPT_FILE_FIX)
    problem = None
    if b"\t" in raw:
        problem = "it holds tab characters"
    else:
        try:
            frame = pd.read_csv(
                io.BytesIO(raw.replace(b"::", b"\t")),
                sep="\t",
                header=None,
                names=list(RATING_COLUMNS),
                dtype=RATINGS_DTYPES,
                engine="c",
            )
        except (ValueError, OverflowError, pd.errors.ParserError) as error:
            problem = f"pandas could not parse it ({error})"
        else:
            if has_bad_values(frame, half_stars):
                problem = "an id or a rating is out of range"
    if problem is not None:
        scan_ratings_lines(path, raw.decode("latin-1"), separator=SEPARATOR, header=None, half_stars=half_stars)
        raise DatasetFormatError(path, None, f"{problem}.", CORRUPT_FILE_FIX)
    return ratings_frame(frame["user_id"], frame["item_id"], frame["rating"], frame["timestamp"], half_stars)


def _fields(path: Path, line_number: int, line: str, names: Sequence[str]) -> list[str]:
    fields = line.split(SEPARATOR)
    if len(fields) != len(names):
        raise DatasetFormatError(
            path,
            line_number,
            f"expected {len(names)} '::'-separated fields ({'::'.join(names)}), got {len(fields)}.",
            CORRUPT_FILE_FIX,
        )
    return fields


def _positive_integer(path: Path, line_number: int, name: str, text: str, minimum: int = 1) -> int:
    try:
        value = int(text)
    except ValueError:
        raise DatasetFormatError(path, line_number, f"{name} is {text!r}, not an integer.", CORRUPT_FILE_FIX) from None
    if value < minimum:
        raise DatasetFormatError(path, line_number, f"{name} must be {minimum} or more, got {value}.", CORRUPT_FILE_FIX)
    return value


def read_dat_movies(data_dir: Path | str, *, encodings: Sequence[str] = ("latin-1",)) -> tuple[pd.DataFrame, list[str]]:
    """Read ``movies.dat``: items (``item_id``, ``title``, one boolean column per genre) and the genre names."""
    path = require_file(Path(data_dir) / "movies.dat")
    text = decode(path, path.read_bytes(), encodings)
    ids, titles, genres = [], [], []
    for line_number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        movie, title, genre = _fields(path, line_number, line, ("MovieID", "Title", "Genres"))
        ids.append(_positive_integer(path, line_number, "movie id", movie))
        if not title.strip():
            raise DatasetFormatError(path, line_number, f"movie {movie} has an empty title.", CORRUPT_FILE_FIX)
        titles.append(title)
        genres.append(genre)
    if not ids:
        raise DatasetFormatError(path, None, "the file lists no movie.", CORRUPT_FILE_FIX)
    return genre_columns(path, np.array(ids), titles, pd.Series(genres, dtype=object))


def read_dat_users(data_dir: Path | str) -> pd.DataFrame:
    """Read ML-1M's ``users.dat``: ``user_id``, ``age`` (the age-range code), ``gender``, ``occupation`` (name), ``zip_code``."""
    path = require_file(Path(data_dir) / "users.dat")
    records = []
    for line_number, line in enumerate(decode(path, path.read_bytes(), ("latin-1",)).splitlines(), start=1):
        if not line.strip():
            continue
        user, gender, age, occupation, zip_code = _fields(
            path, line_number, line, ("UserID", "Gender", "Age", "Occupation", "Zip-code")
        )
        code = _positive_integer(path, line_number, "occupation", occupation, minimum=0)
        if code >= len(OCCUPATIONS):
            raise DatasetFormatError(
                path, line_number, f"occupation code {code} is not one of 0-{len(OCCUPATIONS) - 1}.", CORRUPT_FILE_FIX
            )
        if gender not in ("M", "F"):
            raise DatasetFormatError(path, line_number, f"gender is {gender!r}, not M or F.", CORRUPT_FILE_FIX)
        records.append(
            (
                _positive_integer(path, line_number, "user id", user),
                _positive_integer(path, line_number, "age", age),
                gender,
                OCCUPATIONS[code],
                zip_code,
            )
        )
    if not records:
        raise DatasetFormatError(path, None, "the file lists no user.", CORRUPT_FILE_FIX)
    users = pd.DataFrame.from_records(records, columns=["user_id", "age", "gender", "occupation", "zip_code"])
    users["user_id"] = users["user_id"].astype(np.int32)
    users["age"] = users["age"].astype(np.int16)
    users["gender"] = users["gender"].astype("category")
    users["occupation"] = users["occupation"].astype("category")
    if users["user_id"].duplicated().any():
        duplicate = int(users.loc[users["user_id"].duplicated(), "user_id"].iloc[0])
        raise DatasetFormatError(path, None, f"user id {duplicate} appears twice.", CORRUPT_FILE_FIX)
    return users


def spec(
    name: str,
    title: str,
    *,
    folder: str,
    env_var: str,
    md5: str | None,
    half_stars: bool,
    encodings: Sequence[str],
    with_users: bool,
) -> DatasetSpec:
    """The :class:`DatasetSpec` of a dataset in this format (one registry entry in :mod:`utils.datasets`)."""
    return DatasetSpec(
        name=name,
        title=title,
        folder=folder,
        env_var=env_var,
        url=f"https://files.grouplens.org/datasets/movielens/{name}.zip",
        md5=md5,
        required_files=("ratings.dat", "movies.dat", *(("users.dat",) if with_users else ())),
        ratings_file="ratings.dat",
        read_ratings=partial(read_dat_ratings, half_stars=half_stars),
        items_file="movies.dat",
        read_items=partial(read_dat_movies, encodings=tuple(encodings)),
        users_file="users.dat" if with_users else None,
        read_users=read_dat_users if with_users else None,
    )
