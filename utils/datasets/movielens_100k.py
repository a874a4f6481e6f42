"""MovieLens 100K: its files (``u.data``, ``u.item``, ``u.user``, ...), its shipped splits, its kagglehub copy.

The zip holds tab-separated ratings (``u.data``), ``|``-separated movies with 19 genre flags
(``u.item``, latin-1) whose names are in ``u.genre``, users with demographics (``u.user``), and the
train/test splits that its ``mku.sh`` made: ``ua``/``ub`` (the first/second 10 ratings of each user
in ``u.data``'s order are the test part) and the five folds ``u1``–``u5``. Ratings are whole stars
1–5 (int8). Downloads try kagglehub (a pinned version) before the GroupLens zip.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from utils.datasets.base import (
    RATING_COLUMNS,
    DatasetChoiceError,
    DatasetError,
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetSpec,
    copy_into_cache,
    missing_files,
)

KAGGLE_HANDLE = "prajitdatta/movielens-100k-dataset/versions/1"
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"

#: The files this series reads; a folder holding them is a usable ML-100K copy.
REQUIRED_FILES = ("u.data", "u.item", "u.user", "u.genre", "u.occupation", "ua.base", "ua.test")
#: The train/test splits shipped with ML-100K (``mku.sh`` makes them from ``u.data``).
SPLITS = ("ua", "ub", "u1", "u2", "u3", "u4", "u5")
#: Facts of the real dataset that the notebooks and tests check.
ML100K_FACTS = {
    "ratings": 100_000,
    "ua.base rows": 90_570,
    "ua.test rows": 9_430,
    "users": 943,
    "movies": 1_682,
    "training movies (ua.base)": 1_680,
}

ITEM_COLUMNS = ("item_id", "title", "release_date", "video_release_date", "imdb_url")
USER_COLUMNS = ("user_id", "age", "gender", "occupation", "zip_code")
NUM_GENRES = 19
HOW_TO_GET_THE_DATA = (
    "Fix: with a network connection, run `make data` (downloads into data/ml-100k); or set ML100K_DIR to a folder holding "
    "the unzipped MovieLens 100K files (u.data, u.item, ua.base, ...), or pass the folder explicitly."
)


def _ml100k_folder_inside(root: Path) -> Path | None:
    """The folder below ``root`` (itself, or an ``ml-100k`` subfolder) that holds the files."""
    for candidate in (root, root / "ml-100k", *sorted(root.glob("*/ml-100k"))):
        if candidate.is_dir() and not missing_files(candidate, REQUIRED_FILES):
            return candidate
    return None


def download_from_kagglehub(cache_dir: Path, handle: str = KAGGLE_HANDLE) -> Path:
    """Download with ``kagglehub`` (its own cache works offline once filled); return the folder."""
    import kagglehub  # imported here: an optional dependency, only needed for this source

    root = Path(kagglehub.dataset_download(handle))
    folder = _ml100k_folder_inside(root)
    if folder is None:
        raise DatasetError(f"kagglehub returned {root}, which holds no complete ml-100k folder.")
    return copy_into_cache(folder, Path(cache_dir), "ml-100k")


# ---------------------------------------------------------------------------------------------
# Reading the files
# ---------------------------------------------------------------------------------------------


def _read_lines(path: Path, encoding: str) -> list[str]:
    path = Path(path)
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist.\n{HOW_TO_GET_THE_DATA}")
    text = path.read_bytes().decode(encoding)
    return text.splitlines()


def _integer(path: Path, line_number: int, column: str, text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise DatasetFormatError(path, line_number, f"{column} is {text!r}, not an integer.") from None


def read_ratings(path: Path | str) -> pd.DataFrame:
    """Read a ratings file (``u.data``, ``ua.base``, ``u1.test``, ...).

    Each line is ``user id <tab> item id <tab> rating <tab> timestamp``. Returns a DataFrame with
    columns ``user_id`` (int32), ``item_id`` (int32), ``rating`` (int8, 1–5), ``timestamp`` (int64),
    in file order. Ids are the original 1-based MovieLens ids.
    """
    path = Path(path)
    lines = _read_lines(path, "ascii")
    rows = np.empty((len(lines), 4), dtype=np.int64)
    count = 0
    for line_number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) != 4:
            raise DatasetFormatError(
                path, line_number, f"expected 4 tab-separated fields (user, item, rating, time), got {len(fields)}."
            )
        values = [_integer(path, line_number, name, text) for name, text in zip(RATING_COLUMNS, fields)]
        if values[0] < 1 or values[1] < 1:
            raise DatasetFormatError(path, line_number, f"ids must be 1 or more, got user {values[0]}, item {values[1]}.")
        if not 1 <= values[2] <= 5:
            raise DatasetFormatError(path, line_number, f"rating {values[2]} is outside 1-5.")
        rows[count] = values
        count += 1
    if count == 0:
        raise DatasetFormatError(path, None, "the file holds no ratings.")
    rows = rows[:count]
    return pd.DataFrame(
        {
            "user_id": rows[:, 0].astype(np.int32),
            "item_id": rows[:, 1].astype(np.int32),
            "rating": rows[:, 2].astype(np.int8),
            "timestamp": rows[:, 3],
        }
    )


def read_genres(data_dir: Path | str) -> list[str]:
    """The 19 genre names of ``u.genre`` (``name|index`` lines), ordered by index."""
    path = Path(data_dir) / "u.genre"
    genres: dict[int, str] = {}
    for line_number, line in enumerate(_read_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != 2:
            raise DatasetFormatError(path, line_number, f"expected 'name|index', got {line!r}.")
        genres[_integer(path, line_number, "genre index", fields[1])] = fields[0]
    if sorted(genres) != list(range(NUM_GENRES)):
        raise DatasetFormatError(path, None, f"expected genre indices 0-{NUM_GENRES - 1}, got {sorted(genres)}.")
    return [genres[index] for index in range(NUM_GENRES)]


def read_occupations(data_dir: Path | str) -> list[str]:
    """The occupation names of ``u.occupation``, one per line."""
    path = Path(data_dir) / "u.occupation"
    names = [line.strip() for line in _read_lines(path, "latin-1") if line.strip()]
    if not names:
        raise DatasetFormatError(path, None, "the file lists no occupation.")
    return names


def read_items(data_dir: Path | str) -> pd.DataFrame:
    """Read ``u.item`` (latin-1, ``|``-separated): one row per movie.

    Columns: ``item_id`` (int32), ``title`` (str), ``release_date`` (datetime, NaT when unknown),
    ``video_release_date`` (always empty in ML-100K), ``imdb_url`` (str), then one boolean column
    per genre, named as in ``u.genre``. A movie may have several genres.
    """
    data_dir = Path(data_dir)
    genres = read_genres(data_dir)
    path = data_dir / "u.item"
    records = []
    expected = len(ITEM_COLUMNS) + NUM_GENRES
    for line_number, line in enumerate(_read_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != expected:
            raise DatasetFormatError(path, line_number, f"expected {expected} '|'-separated fields, got {len(fields)}.")
        item_id = _integer(path, line_number, "movie id", fields[0])
        flags = fields[len(ITEM_COLUMNS):]
        if any(flag not in ("0", "1") for flag in flags):
            raise DatasetFormatError(path, line_number, f"genre flags must be 0 or 1, got {flags}.")
        records.append((item_id, *fields[1:len(ITEM_COLUMNS)], *(flag == "1" for flag in flags)))
    if not records:
        raise DatasetFormatError(path, None, "the file lists no movie.")
    items = pd.DataFrame.from_records(records, columns=[*ITEM_COLUMNS, *genres])
    items["item_id"] = items["item_id"].astype(np.int32)
    items["release_date"] = pd.to_datetime(items["release_date"], format="%d-%b-%Y", errors="coerce")
    if items["item_id"].duplicated().any():
        duplicate = int(items.loc[items["item_id"].duplicated(), "item_id"].iloc[0])
        raise DatasetFormatError(path, None, f"movie id {duplicate} appears twice.")
    return items


def read_items_and_genres(data_dir: Path | str) -> tuple[pd.DataFrame, list[str]]:
    """:func:`read_items` and its genre names (the columns after :data:`ITEM_COLUMNS`)."""
    items = read_items(data_dir)
    return items, list(items.columns[len(ITEM_COLUMNS):])


def read_users(data_dir: Path | str) -> pd.DataFrame:
    """Read ``u.user`` (``|``-separated): ``user_id``, ``age``, ``gender``, ``occupation``, ``zip_code``."""
    path = Path(data_dir) / "u.user"
    records = []
    for line_number, line in enumerate(_read_lines(path, "latin-1"), start=1):
        if not line.strip():
            continue
        fields = line.split("|")
        if len(fields) != len(USER_COLUMNS):
            raise DatasetFormatError(path, line_number, f"expected 5 '|'-separated fields, got {len(fields)}.")
        records.append(
            (
                _integer(path, line_number, "user id", fields[0]),
                _integer(path, line_number, "age", fields[1]),
                *fields[2:],
            )
        )
    if not records:
        raise DatasetFormatError(path, None, "the file lists no user.")
    users = pd.DataFrame.from_records(records, columns=list(USER_COLUMNS))
    users["user_id"] = users["user_id"].astype(np.int32)
    users["age"] = users["age"].astype(np.int16)
    users["gender"] = users["gender"].astype("category")
    users["occupation"] = users["occupation"].astype("category")
    return users


def read_split(data_dir: Path | str, split: str = "ua") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the ``<split>.base`` and ``<split>.test`` ratings of one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise DatasetChoiceError(f"unknown split {split!r}; ML-100K ships {', '.join(SPLITS)}.")
    data_dir = Path(data_dir)
    return read_ratings(data_dir / f"{split}.base"), read_ratings(data_dir / f"{split}.test")


SPEC = DatasetSpec(
    name="ml-100k",
    title="MovieLens 100K",
    folder="ml-100k",
    env_var="ML100K_DIR",
    url=GROUPLENS_URL,
    md5=GROUPLENS_MD5,
    required_files=REQUIRED_FILES,
    ratings_file="u.data",
    read_ratings=read_ratings,
    items_file="u.item",
    read_items=read_items_and_genres,
    users_file="u.user",
    read_users=read_users,
    shipped_splits={split: (f"{split}.base", f"{split}.test") for split in SPLITS},
    extra_sources=(("kagglehub", download_from_kagglehub),),
    download_command="make data",
    hint_files=("u.data", "u.item", "ua.base"),
    rating_scale="1-5 stars (int8)",
)
