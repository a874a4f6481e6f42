"""MovieLens: finding the files, reading them, and mapping ids to indices.

Data flows one way through this series::

    files on disk -> interactions (this module) -> graph -> model -> scores -> metrics -> titles

This module is the first stage. It never imports from a later one.

It serves every dataset of :data:`DATASETS` (``--dataset``): MovieLens 100K (the default, and the
one the notebooks use), 1M, 10M, 20M, 25M, 32M and ``ml-latest-small``, each read from its own file
format by a module of :mod:`utils.datasets`. Everything else is shared, and lives here.

Where the data comes from, in this order (:func:`find_dataset`):

1. an explicit folder passed by the caller;
2. the folder named by the dataset's environment variable (``ML100K_DIR``, ``ML1M_DIR``,
   ``ML10M_DIR``, ``ML20M_DIR``, ``ML25M_DIR``, ``ML32M_DIR``, ``ML_LATEST_SMALL_DIR``);
3. the download cache ``data/<folder>`` of this repository (``data/ml-100k``, ...);
4. for ML-100K, ``kagglehub`` (dataset ``prajitdatta/movielens-100k-dataset``, a pinned version);
5. the GroupLens zip, checked against its published MD5 (``ml-latest-small``, which changes over
   time, has none: its download is unverified, and a warning says so).

The splits: ML-100K ships ``ua``, ``ub`` and ``u1``–``u5`` (``ua`` by default). The others ship
none and get ``random`` (:func:`utils.datasets.base.per_user_split`): for each user with at least
5 ratings, ⌊20 %⌋ of them (at least 1), drawn with seed 0, are the test part; a user with fewer
keeps all in training. The validation split (:func:`validation_split`) is carved from the training
part of either, the same way.

The licence of MovieLens forbids redistribution, so the files are downloaded, never committed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from utils.datasets import DATASETS, DEFAULT_DATASET, get_dataset
from utils.datasets.base import (
    DATA_CACHE_DIR,
    GENERIC_FIX,
    PROJECT_ROOT,
    RANDOM_SPLIT,
    RATING_COLUMNS,
    SYNTHETIC_MARKER,
    UNSEEN,
    DatasetChoiceError,
    DatasetError,
    DatasetFormatError,
    DatasetNotFoundError,
    DatasetSpec,
    UnverifiedDownloadWarning,
    download_zip,
    is_synthetic,
    per_user_split,
)
from utils.datasets.base import missing_files as _missing_files
from utils.datasets.movielens_100k import (
    GROUPLENS_MD5,
    GROUPLENS_URL,
    HOW_TO_GET_THE_DATA,
    ITEM_COLUMNS,
    KAGGLE_HANDLE,
    ML100K_FACTS,
    NUM_GENRES,
    REQUIRED_FILES,
    SPLITS,
    USER_COLUMNS,
    download_from_kagglehub,
    read_genres,
    read_items,
    read_occupations,
    read_ratings,
    read_split,
    read_users,
)

__all__ = [
    "DATASETS", "DATA_CACHE_DIR", "GROUPLENS_MD5", "GROUPLENS_URL", "HOW_TO_GET_THE_DATA", "ITEM_COLUMNS",
    "KAGGLE_HANDLE", "ML100K_FACTS", "NUM_GENRES", "PROJECT_ROOT", "RANDOM_SPLIT", "RATING_COLUMNS",
    "REQUIRED_FILES", "SPLITS", "SYNTHETIC_MARKER", "UNSEEN", "USER_COLUMNS", "DatasetChoiceError", "DatasetError",
    "DatasetFormatError", "DatasetNotFoundError", "DatasetSpec", "IdMapping", "MovieLens", "UnverifiedDownloadWarning",
    "add_dataset_arguments", "dataset_from_args", "dataset_summary", "download_from_grouplens",
    "download_from_kagglehub", "find_dataset", "get_dataset", "is_synthetic", "load_dataset", "load_movielens",
    "missing_files", "per_user_split", "read_genres", "read_items", "read_occupations", "read_ratings",
    "read_split", "read_users", "validation_split",
]  # fmt: skip


# ---------------------------------------------------------------------------------------------
# Finding and downloading the files
# ---------------------------------------------------------------------------------------------


def missing_files(folder: Path | str, required: Sequence[str] = REQUIRED_FILES) -> list[str]:
    """The names in ``required`` (by default ML-100K's files) that ``folder`` lacks."""
    return _missing_files(folder, required)


def download_from_grouplens(
    cache_dir: Path | str,
    url: str | None = None,
    md5: str | None = "published",
    fetch: Callable[[str], bytes | Path] | None = None,
    *,
    dataset: str = DEFAULT_DATASET,
) -> Path:
    """Download the GroupLens zip of ``dataset``, check its MD5, unzip it into ``cache_dir``; return the folder.

    ``md5="published"`` checks against the MD5 GroupLens publishes (:attr:`DatasetSpec.md5`);
    ``None`` skips the check, with a warning. ``fetch(url)`` returns the zip's bytes or a file.
    """
    return download_zip(get_dataset(dataset), Path(cache_dir), url=url, md5=md5, fetch=fetch)


def find_dataset(
    path: Path | str | None = None,
    *,
    dataset: str = DEFAULT_DATASET,
    download: bool = True,
    cache_dir: Path | str = DATA_CACHE_DIR,
    downloaders: Sequence[tuple[str, Callable[[Path], Path]]] | None = None,
) -> Path:
    """Return a folder holding the files of ``dataset``, downloading them into ``cache_dir`` if needed.

    Sources are tried in order: ``path``; the dataset's environment variable (``$ML100K_DIR`` for
    ML-100K); ``cache_dir/<folder>`` (``data/ml-100k``); then, when ``download`` is true, its
    downloads (for ML-100K kagglehub, then the GroupLens zip). An explicit ``path`` or variable
    that is incomplete is an error of its own (the caller asked for that copy), not a reason to
    download another. Raises :class:`DatasetNotFoundError` listing every attempt.
    """
    spec = get_dataset(dataset)
    cache_dir = Path(cache_dir)
    for origin, chosen in (("the folder you passed", path), (spec.env_var, os.environ.get(spec.env_var))):
        if chosen:
            chosen = Path(chosen).expanduser()
            lacking = missing_files(chosen, spec.required_files)
            if lacking:
                inside = chosen / spec.folder
                hint = "" if missing_files(inside, spec.required_files) else f"; {inside} holds them"
                raise DatasetNotFoundError(
                    f"{origin} ({chosen}) lacks {', '.join(lacking)}.\n"
                    f"Fix: point it at the unzipped {spec.folder} folder (the one holding {spec.ratings_file}){hint}, "
                    "or unset it to use the download cache."
                )
            return chosen

    attempts = []
    cached = cache_dir / spec.folder
    if not missing_files(cached, spec.required_files):
        return cached
    attempts.append(f"cache {cached}: missing {', '.join(missing_files(cached, spec.required_files))}")
    if not download:
        attempts.append("download: not attempted (download=False)")
    else:
        for name, downloader in spec.sources() if downloaders is None else downloaders:
            try:
                return downloader(cache_dir)
            except Exception as error:  # noqa: BLE001 (each failure is reported below)
                attempts.append(f"{name}: {type(error).__name__}: {error}")
    raise DatasetNotFoundError(
        f"{spec.title} was not found. Tried:\n  - " + "\n  - ".join(attempts) + "\n" + spec.how_to_get()
    )


# ---------------------------------------------------------------------------------------------
# Ids -> contiguous indices
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdMapping:
    """Contiguous 0-based indices for the users and movies of a training split, and back.

    ``user_ids[u]`` is the MovieLens id of user index ``u``; likewise ``item_ids`` for movies.
    Both are sorted, so index order follows id order. A movie absent from training has no index:
    :meth:`item_index` gives it :data:`UNSEEN` (-1), never a NaN or a float. Lookups are binary
    searches over whole arrays, so mapping the 32 million ratings of ML-32M takes seconds.
    """

    user_ids: np.ndarray
    item_ids: np.ndarray
    _user_lookup: tuple = field(init=False, repr=False, compare=False)
    _item_lookup: tuple = field(init=False, repr=False, compare=False)

    def __post_init__(self):
        for name in ("user", "item"):
            ids = np.asarray(getattr(self, f"{name}_ids"))
            order = np.argsort(ids, kind="stable")
            object.__setattr__(self, f"_{name}_lookup", (ids[order], order))

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
    def _lookup(table: tuple, ids, kind: str, missing: int | None) -> np.ndarray:
        ids = np.atleast_1d(np.asarray(ids))
        if ids.dtype.kind not in "iu":
            raise TypeError(f"{kind} ids must be integers, got {ids.dtype} ({ids[:3]}...).")
        sorted_ids, order = table
        if len(sorted_ids) == 0:
            found = np.zeros(len(ids), dtype=bool)
            position = np.zeros(len(ids), dtype=np.int64)
        else:
            position = np.minimum(np.searchsorted(sorted_ids, ids), len(sorted_ids) - 1)
            found = sorted_ids[position] == ids
        if missing is None and not found.all():
            unknown = [int(i) for i in ids[~found][:5]]
            raise KeyError(
                f"{kind} id(s) {unknown} do not occur in the training split "
                f"({len(sorted_ids)} {kind}s known). Use an id from the training data."
            )
        indices = order[position] if len(sorted_ids) else position
        return np.where(found, indices, -1 if missing is None else missing).astype(np.int64)


# ---------------------------------------------------------------------------------------------
# The whole dataset, ready for a model
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class MovieLens:
    """One train/test split of a MovieLens dataset with its catalogue and id mapping.

    ``train`` and ``test`` hold the original columns plus ``user_index`` and ``item_index``
    (int64, from :class:`IdMapping` of the training split). A test movie that never occurs in
    training keeps its row with ``item_index == UNSEEN``: it is ground truth that no model can
    hit, and it counts as a miss in every metric. ``items`` has ``item_id``, ``title`` and one
    boolean column per genre (``genres``); ``users`` has ``user_id`` (and demographics where the
    dataset has them: ML-100K, ML-1M). ``name`` is the dataset (``"ml-100k"``, ``"ml-1m"``, ...).
    """

    data_dir: Path
    split: str
    train: pd.DataFrame
    test: pd.DataFrame
    items: pd.DataFrame
    users: pd.DataFrame
    genres: list[str]
    mapping: IdMapping
    name: str = "ml-100k"

    @property
    def spec(self) -> DatasetSpec:
        return get_dataset(self.name)

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


def load_dataset(
    name: str = DEFAULT_DATASET, data_dir: Path | str | None = None, split: str | None = None, *, download: bool = True
) -> MovieLens:
    """Find (downloading if needed), read and check one split of the dataset ``name``.

    ``split`` None is the dataset's default (``ua`` for ML-100K, ``random`` for the others).
    Checks that every id of the ratings is listed in the movie file (and the user file, where
    there is one) and that every test user has training ratings; raises :class:`DatasetError`
    naming the file and the fix otherwise.
    """
    spec = get_dataset(name)
    split = spec.default_split if split is None else split
    if split not in spec.splits:
        shipped = "ships" if spec.shipped_splits else "has the seeded per-user split"
        raise DatasetChoiceError(f"unknown split {split!r}; {spec.title} {shipped} {', '.join(spec.splits)}.")
    folder = find_dataset(data_dir, dataset=name, download=download)
    try:
        items, genres = spec.read_items(folder)
        users = spec.read_users(folder) if spec.read_users else None
        train, test = _read_parts(spec, folder, split, items, users)
    except DatasetFormatError as error:
        if error.default_fix or error.fix == GENERIC_FIX:
            raise error.with_fix(spec.corrupt_fix()) from None
        raise
    if users is None:
        users = pd.DataFrame({"user_id": np.union1d(train["user_id"].to_numpy(), test["user_id"].to_numpy()).astype(np.int32)})
    mapping = IdMapping.from_ratings(train)
    train = train.assign(
        user_index=mapping.user_index(train["user_id"].to_numpy()),
        item_index=mapping.item_index(train["item_id"].to_numpy()),
    )
    test_users = mapping.user_index(test["user_id"].to_numpy(), missing=UNSEEN)
    if (test_users == UNSEEN).any():
        stranger = int(test.loc[test_users == UNSEEN, "user_id"].iloc[0])
        train_file, test_file = spec.split_files(split)
        raise DatasetFormatError(
            folder / test_file,
            None,
            f"user {stranger} has test ratings but no training ratings in {train_file}.",
            "Fix: use a split whose test users all appear in training (ua, ub, u1-u5 of ML-100K do, and so does "
            "the random split of the others).",
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
        name=spec.name,
    )


def _read_parts(
    spec: DatasetSpec, folder: Path, split: str, items: pd.DataFrame, users: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and test ratings of ``split``, their ids checked against the movie and user files."""
    if split in spec.shipped_splits:
        files = spec.shipped_splits[split]
        parts = tuple(spec.read_ratings(folder / name) for name in files)
    else:
        files = (spec.ratings_file,)
        parts = (spec.read_ratings(folder / spec.ratings_file),)
    for name, frame in zip(files, parts):
        if users is not None:
            _check_ids_exist(folder / name, frame, "user_id", users["user_id"], spec.users_file)
        _check_ids_exist(folder / name, frame, "item_id", items["item_id"], spec.items_file)
    return parts if len(parts) == 2 else per_user_split(parts[0])


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


def load_movielens(
    data_dir: Path | str | None = None, split: str = "ua", *, download: bool = True
) -> MovieLens:
    """Find (downloading if needed), read and check one split of ML-100K.

    Checks that every id in the split exists in ``u.user``/``u.item`` and that every test user
    has training ratings; raises :class:`DatasetError` naming the file and the fix otherwise.
    The same as ``load_dataset("ml-100k", data_dir, split)``.
    """
    return load_dataset("ml-100k", data_dir, split, download=download)


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
    train_name, test_name = dataset.spec.part_names(dataset.split)
    return {
        "ratings": len(dataset.train) + len(dataset.test),
        f"{train_name} rows": len(dataset.train),
        f"{test_name} rows": len(dataset.test),
        "users": len(dataset.users),
        "movies": len(dataset.items),
        f"training movies ({train_name})": dataset.num_items,
        "test rows of movies unseen in training": len(dataset.unseen_test_rows),
    }


# ---------------------------------------------------------------------------------------------
# Command line
# ---------------------------------------------------------------------------------------------


def add_dataset_arguments(parser, *, default: str = DEFAULT_DATASET):
    """Add ``--dataset``, ``--data-dir`` and ``--split`` to an ``argparse`` parser; return it.

    Read them back with :func:`dataset_from_args`.
    """
    parser.add_argument("--dataset", default=default, choices=list(DATASETS), help="which MovieLens (default: %(default)s)")
    parser.add_argument(
        "--data-dir",
        help="a folder holding the dataset's files (default: its environment variable, e.g. $ML100K_DIR or "
        "$ML1M_DIR, then data/<folder>, then a download)",
    )
    parser.add_argument(
        "--split",
        help="the train/test split (default: the dataset's own: ua for ml-100k, which also ships ub and u1-u5; "
        f"{RANDOM_SPLIT}, a seeded per-user split, for the others)",
    )
    return parser


def dataset_from_args(args, download: bool = True) -> MovieLens:
    """The dataset that :func:`add_dataset_arguments`'s options name; a :class:`DatasetError` ends the program."""
    try:
        return load_dataset(args.dataset, args.data_dir, args.split, download=download)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m utils.data [--dataset NAME]``: download (if needed) and print where the data is."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m utils.data", description="Find or download a MovieLens dataset into data/."
    )
    parser.add_argument("--dataset", default=DEFAULT_DATASET, choices=list(DATASETS), help="which MovieLens (default: %(default)s)")
    parser.add_argument("--data-dir", help="an existing copy (default: the dataset's environment variable, then data/)")
    parser.add_argument("--list", action="store_true", help="list the datasets, their variables and splits, and stop")
    args = parser.parse_args(argv)
    if args.list:
        for spec in DATASETS.values():
            checksum = f"MD5 {spec.md5}" if spec.md5 else "no published MD5"
            print(f"{spec.name:<16} {spec.title:<24} ${spec.env_var:<20} data/{spec.folder:<12} splits: "
                  f"{', '.join(spec.splits)}; {checksum}")  # fmt: skip
        return
    try:
        folder = find_dataset(args.data_dir, dataset=args.dataset)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{get_dataset(args.dataset).title} is at {folder}")


if __name__ == "__main__":
    main()
