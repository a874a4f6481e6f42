"""MovieLens 100K: finding the files, reading them, and mapping ids to indices.

Data flows one way through this series::

    files on disk -> interactions (this module) -> graph -> model -> scores -> metrics -> titles

This module is the first stage. It never imports from a later one.

Where the data comes from, in this order (:func:`find_dataset`):

1. an explicit folder passed by the caller;
2. the folder named by the ``ML100K_DIR`` environment variable;
3. the download cache ``data/ml-100k`` of this repository;
4. ``kagglehub`` (dataset ``prajitdatta/movielens-100k-dataset``, a pinned version);
5. the GroupLens zip, checked against its published MD5.

The licence of MovieLens forbids redistribution, so the files are downloaded, never committed.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import urllib.request
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_CACHE_DIR = PROJECT_ROOT / "data"

KAGGLE_HANDLE = "prajitdatta/movielens-100k-dataset/versions/1"
GROUPLENS_URL = "https://files.grouplens.org/datasets/movielens/ml-100k.zip"
GROUPLENS_MD5 = "0e33842e24a9c977be4e0107933c0723"

#: The files this series reads; a folder holding them is a usable ML-100K copy.
REQUIRED_FILES = ("u.data", "u.item", "u.user", "u.genre", "u.occupation", "ua.base", "ua.test")
#: The train/test splits shipped with ML-100K (``mku.sh`` makes them from ``u.data``).
SPLITS = ("ua", "ub", "u1", "u2", "u3", "u4", "u5")
#: A file of this name marks a folder written by :mod:`utils.synthetic`.
SYNTHETIC_MARKER = "SYNTHETIC"
#: Facts of the real dataset that the notebooks and tests check.
ML100K_FACTS = {
    "ratings": 100_000,
    "ua.base rows": 90_570,
    "ua.test rows": 9_430,
    "users": 943,
    "movies": 1_682,
    "training movies (ua.base)": 1_680,
}
#: Index given to a test movie that never occurs in the training split: no model can score it.
UNSEEN = -1

RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
ITEM_COLUMNS = ("item_id", "title", "release_date", "video_release_date", "imdb_url")
USER_COLUMNS = ("user_id", "age", "gender", "occupation", "zip_code")
NUM_GENRES = 19
HOW_TO_GET_THE_DATA = (
    "Fix: with a network connection, run `make data` (downloads into data/ml-100k); or set ML100K_DIR to a folder holding "
    "the unzipped MovieLens 100K files (u.data, u.item, ua.base, ...), or pass the folder explicitly."
)


class DatasetError(Exception):
    """The MovieLens files are missing, incomplete or malformed; the message says how to fix it."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """No source of the dataset worked; the message lists every place that was tried."""


class DatasetFormatError(DatasetError, ValueError):
    """A file exists but a line of it is not what ML-100K holds there."""

    def __init__(self, path: Path | str, line_number: int | None, problem: str, fix: str = ""):
        self.path = Path(path)
        self.line_number = line_number
        where = f"{self.path}, line {line_number}" if line_number else str(self.path)
        fix = fix or (
            "The file looks truncated or corrupt: delete the folder and download it again "
            "(`make data`), or point ML100K_DIR at a clean copy."
        )
        super().__init__(f"{where}: {problem}\n{fix}")


# ---------------------------------------------------------------------------------------------
# Finding and downloading the files
# ---------------------------------------------------------------------------------------------


def missing_files(folder: Path | str, required: Sequence[str] = REQUIRED_FILES) -> list[str]:
    """The names in ``required`` that ``folder`` lacks (all of them if it is no folder)."""
    folder = Path(folder)
    return [name for name in required if not (folder / name).is_file()]


def _ml100k_folder_inside(root: Path) -> Path | None:
    """The folder below ``root`` (itself, or an ``ml-100k`` subfolder) that holds the files."""
    for candidate in (root, root / "ml-100k", *sorted(root.glob("*/ml-100k"))):
        if candidate.is_dir() and not missing_files(candidate):
            return candidate
    return None


def download_from_kagglehub(cache_dir: Path, handle: str = KAGGLE_HANDLE) -> Path:
    """Download with ``kagglehub`` (its own cache works offline once filled); return the folder."""
    import kagglehub  # imported here: an optional dependency, only needed for this source

    root = Path(kagglehub.dataset_download(handle))
    folder = _ml100k_folder_inside(root)
    if folder is None:
        raise DatasetError(f"kagglehub returned {root}, which holds no complete ml-100k folder.")
    return _copy_into_cache(folder, cache_dir)


def download_from_grouplens(
    cache_dir: Path,
    url: str = GROUPLENS_URL,
    md5: str = GROUPLENS_MD5,
    fetch: Callable[[str], bytes] | None = None,
) -> Path:
    """Download the GroupLens zip, check its MD5, unzip it into ``cache_dir``; return the folder."""
    fetch = fetch or _fetch_url
    payload = fetch(url)
    digest = hashlib.md5(payload, usedforsecurity=False).hexdigest()
    if digest != md5:
        raise DatasetError(
            f"{url} downloaded {len(payload)} bytes with MD5 {digest}, not the published {md5}: "
            "the download is incomplete or the file changed. Try again later."
        )
    cache_dir.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        archive.extractall(cache_dir)
    folder = cache_dir / "ml-100k"
    if missing_files(folder):
        raise DatasetError(f"{url} unzipped without {missing_files(folder)}.")
    return folder


def _fetch_url(url: str, timeout: float = 60.0) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
        return response.read()


def _copy_into_cache(folder: Path, cache_dir: Path) -> Path:
    target = cache_dir / "ml-100k"
    if folder.resolve() != target.resolve():
        target.mkdir(parents=True, exist_ok=True)
        for file in folder.iterdir():
            if file.is_file():
                shutil.copy2(file, target / file.name)
    return target


def find_dataset(
    path: Path | str | None = None,
    *,
    download: bool = True,
    cache_dir: Path | str = DATA_CACHE_DIR,
    downloaders: Sequence[tuple[str, Callable[[Path], Path]]] | None = None,
) -> Path:
    """Return a folder holding the ML-100K files, downloading them into ``cache_dir`` if needed.

    Sources are tried in order: ``path``; ``$ML100K_DIR``; ``cache_dir/ml-100k``; then, when
    ``download`` is true, kagglehub and the GroupLens zip. An explicit ``path`` or ``$ML100K_DIR``
    that is incomplete is an error of its own (the caller asked for that copy), not a reason to
    download another. Raises :class:`DatasetNotFoundError` listing every attempt.
    """
    cache_dir = Path(cache_dir)
    for origin, chosen in (("the folder you passed", path), ("ML100K_DIR", os.environ.get("ML100K_DIR"))):
        if chosen:
            chosen = Path(chosen).expanduser()
            lacking = missing_files(chosen)
            if lacking:
                raise DatasetNotFoundError(
                    f"{origin} ({chosen}) lacks {', '.join(lacking)}.\n"
                    "Fix: point it at the unzipped ml-100k folder (the one holding u.data), "
                    "or unset it to use the download cache."
                )
            return chosen

    attempts = []
    cached = cache_dir / "ml-100k"
    if not missing_files(cached):
        return cached
    attempts.append(f"cache {cached}: missing {', '.join(missing_files(cached))}")
    if not download:
        attempts.append("download: not attempted (download=False)")
    else:
        if downloaders is None:
            downloaders = (("kagglehub", download_from_kagglehub), ("GroupLens zip", download_from_grouplens))
        for name, downloader in downloaders:
            try:
                return downloader(cache_dir)
            except Exception as error:  # noqa: BLE001 (each failure is reported below)
                attempts.append(f"{name}: {type(error).__name__}: {error}")
    raise DatasetNotFoundError(
        "MovieLens 100K was not found. Tried:\n  - "
        + "\n  - ".join(attempts)
        + "\n"
        + HOW_TO_GET_THE_DATA
    )


def is_synthetic(folder: Path | str) -> bool:
    """True when ``folder`` was written by :func:`utils.synthetic.write_synthetic_ml100k`."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


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
        raise ValueError(f"unknown split {split!r}; ML-100K ships {', '.join(SPLITS)}.")
    data_dir = Path(data_dir)
    return read_ratings(data_dir / f"{split}.base"), read_ratings(data_dir / f"{split}.test")


# ---------------------------------------------------------------------------------------------
# Ids -> contiguous indices
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdMapping:
    """Contiguous 0-based indices for the users and movies of a training split, and back.

    ``user_ids[u]`` is the MovieLens id of user index ``u``; likewise ``item_ids`` for movies.
    Both are sorted, so index order follows id order. A movie absent from training has no index:
    :meth:`item_index` gives it :data:`UNSEEN` (-1), never a NaN or a float.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    _user_lookup: dict = field(init=False, repr=False, compare=False)
    _item_lookup: dict = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        object.__setattr__(self, "_user_lookup", {int(i): n for n, i in enumerate(self.user_ids)})
        object.__setattr__(self, "_item_lookup", {int(i): n for n, i in enumerate(self.item_ids)})

    @classmethod
    def from_ratings(cls, ratings: pd.DataFrame) -> IdMapping:
        """Index every user and movie that occurs in ``ratings`` (the training split)."""
        return cls(
            user_ids=np.unique(ratings["user_id"].to_numpy()).astype(np.int64),
            item_ids=np.unique(ratings["item_id"].to_numpy()).astype(np.int64),
        )

    @property
    def num_users(self) -> int:
        return len(self.user_ids)

    @property
    def num_items(self) -> int:
        return len(self.item_ids)

    def user_index(self, user_ids, *, missing: int | None = None) -> np.ndarray:
        """Indices of MovieLens user ids; an unknown id raises, unless ``missing`` gives its index."""
        return self._lookup(self._user_lookup, user_ids, "user", missing)

    def item_index(self, item_ids, *, missing: int | None = UNSEEN) -> np.ndarray:
        """Indices of MovieLens movie ids; a movie absent from training gets ``missing`` (-1)."""
        return self._lookup(self._item_lookup, item_ids, "movie", missing)

    def user_id(self, user_indices) -> np.ndarray:
        return self.user_ids[np.asarray(user_indices, dtype=np.int64)]

    def item_id(self, item_indices) -> np.ndarray:
        return self.item_ids[np.asarray(item_indices, dtype=np.int64)]

    @staticmethod
    def _lookup(table: dict, ids, kind: str, missing: int | None) -> np.ndarray:
        ids = np.atleast_1d(np.asarray(ids))
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{kind} ids must be integers, got {ids.dtype} ({ids[:3]}...).")
        if missing is None:
            unknown = [int(i) for i in ids if int(i) not in table]
            if unknown:
                raise KeyError(
                    f"{kind} id(s) {unknown[:5]} do not occur in the training split "
                    f"({len(table)} {kind}s known). Use an id from the training data."
                )
        return np.fromiter((table.get(int(i), missing) for i in ids), dtype=np.int64, count=len(ids))


# ---------------------------------------------------------------------------------------------
# The whole dataset, ready for a model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovieLens:
    """One train/test split of ML-100K with its catalogue and id mapping.

    ``train`` and ``test`` hold the original columns plus ``user_index`` and ``item_index``
    (int64, from :class:`IdMapping` of the training split). A test movie that never occurs in
    training keeps its row with ``item_index == UNSEEN``: it is ground truth that no model can
    hit, and it counts as a miss in every metric.
    """

    data_dir: Path
    split: str
    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    genres: list[str]
    mapping: IdMapping

    @property
    def num_users(self) -> int:
        return self.mapping.num_users

    @property
    def num_items(self) -> int:
        return self.mapping.num_items

    @property
    def is_synthetic(self) -> bool:
        return is_synthetic(self.data_dir)

    @property
    def unseen_test_rows(self) -> pd.DataFrame:
        """Test ratings of movies that the training split never shows."""
        return self.test[self.test["item_index"] == UNSEEN]

    def train_pairs(self) -> tuple[np.ndarray, np.ndarray]:
        """(user index, item index) of every training rating."""
        return self.train["user_index"].to_numpy(), self.train["item_index"].to_numpy()

    def titles(self, item_indices) -> list[str]:
        """Movie titles of item indices (indices of the training mapping)."""
        title_of = dict(zip(self.items["item_id"].to_numpy(), self.items["title"]))
        return [title_of[int(i)] for i in self.mapping.item_id(item_indices)]


def load_movielens(
    data_dir: Path | str | None = None, split: str = "ua", *, download: bool = True
) -> MovieLens:
    """Find (downloading if needed), read and check one split of ML-100K.

    Checks that every id in the split exists in ``u.user``/``u.item`` and that every test user
    has training ratings; raises :class:`DatasetError` naming the file and the fix otherwise.
    """
    folder = find_dataset(data_dir, download=download)
    train, test = read_split(folder, split)
    items = read_items(folder)
    users = read_users(folder)
    genres = [column for column in items.columns[len(ITEM_COLUMNS):]]
    for name, frame in ((f"{split}.base", train), (f"{split}.test", test)):
        _check_ids_exist(folder / name, frame, "user_id", users["user_id"], "u.user")
        _check_ids_exist(folder / name, frame, "item_id", items["item_id"], "u.item")
    mapping = IdMapping.from_ratings(train)
    train = train.assign(
        user_index=mapping.user_index(train["user_id"].to_numpy()),
        item_index=mapping.item_index(train["item_id"].to_numpy()),
    )
    test_users = mapping.user_index(test["user_id"].to_numpy(), missing=UNSEEN)
    if (test_users == UNSEEN).any():
        stranger = int(test.loc[test_users == UNSEEN, "user_id"].iloc[0])
        raise DatasetFormatError(
            folder / f"{split}.test",
            None,
            f"user {stranger} has test ratings but no training ratings in {split}.base.",
            "Fix: use a split whose test users all appear in training (ua, ub, u1-u5 of ML-100K do).",
        )
    test = test.assign(user_index=test_users, item_index=mapping.item_index(test["item_id"].to_numpy()))
    return MovieLens(
        data_dir=folder,
        split=split,
        train=train,
        test=test,
        items=items,
        users=users,
        genres=genres,
        mapping=mapping,
    )


def _check_ids_exist(path: Path, frame: pd.DataFrame, column: str, known: pd.Series, source: str):
    unknown = ~frame[column].isin(known)
    if unknown.any():
        row = int(np.flatnonzero(unknown.to_numpy())[0])
        raise DatasetFormatError(
            path,
            None,
            f"{column} {int(frame[column].iloc[row])} (data row {row + 1}) is not listed in {source} "
            f"(ids run {int(known.min())}-{int(known.max())}).",
        )


def validation_split(train: pd.DataFrame, per_user: int = 5, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Hold out ``per_user`` random training ratings of every user as a validation set.

    Hyper-parameters are chosen on this split, never on the test split, which is reported once at
    the end. Index columns are kept, so a model fitted on the first frame shares the index space of
    the whole training split (a movie rated only in the held-out rows becomes a node of degree 0).
    Users with fewer than ``2 * per_user`` training ratings keep them all.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(train))
    shuffled = train.iloc[order]
    rank_in_user = shuffled.groupby("user_id").cumcount().to_numpy()
    counts = shuffled.groupby("user_id")["user_id"].transform("size").to_numpy()
    held_out = (rank_in_user < per_user) & (counts >= 2 * per_user)
    return shuffled[~held_out].sort_index(), shuffled[held_out].sort_index()


def dataset_summary(dataset: MovieLens) -> dict[str, int]:
    """The counts a reader checks first: ratings, users, movies, unseen test rows."""
    return {
        "ratings": len(dataset.train) + len(dataset.test),
        f"{dataset.split}.base rows": len(dataset.train),
        f"{dataset.split}.test rows": len(dataset.test),
        "users": len(dataset.users),
        "movies": len(dataset.items),
        f"training movies ({dataset.split}.base)": dataset.num_items,
        "test rows of movies unseen in training": len(dataset.unseen_test_rows),
    }


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m utils.data``: download (if needed) and print where the data is."""
    import argparse

    parser = argparse.ArgumentParser(description="Find or download MovieLens 100K into data/.")
    parser.add_argument("--data-dir", help="an existing ml-100k folder (default: $ML100K_DIR, then data/)")
    args = parser.parse_args(argv)
    try:
        folder = find_dataset(args.data_dir)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"MovieLens 100K is at {folder}")


if __name__ == "__main__":
    main()
