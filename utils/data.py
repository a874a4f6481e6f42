"""MovieLens 100K: finding the files, reading them, and mapping ids to indices.

Data flows one way through this series::

    files on disk -> interactions (this module) -> graph -> model -> scores -> metrics -> titles

This module is the first stage, and all a student reads of the data for MovieLens 100K (the
dataset of the notebooks). Where the files come from, in this order (:func:`find_dataset`):

1. an explicit folder passed by the caller;
2. the folder named by ``$ML100K_DIR``;
3. the download cache ``data/ml-100k`` of this repository;
4. a download: ``kagglehub`` (a pinned version), then the GroupLens zip checked against its
   published MD5. A source that fails is logged with its reason before the next is tried.

ML-100K ships its train/test splits as files: ``ua`` (the default), ``ub`` and ``u1``–``u5``;
:func:`validation_split` carves a validation set from the training part.

The other MovieLens datasets (1M, 10M, 20M, 25M, 32M, ``ml-latest-small``: ``dataset=`` or
``--dataset``) live in :mod:`utils.datasets`: their registry and readers, the downloads, the seeded
per-user ``random`` split they get, and the command line (``python -m utils.data``). This module
imports them only when one of them, or a download, is asked for. The licence of MovieLens forbids
redistribution, so the files are downloaded, never committed.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DATA_CACHE_DIR = PROJECT_ROOT / "data"
#: A file of this name marks a folder written by :mod:`utils.datasets.synthetic`.
SYNTHETIC_MARKER = "SYNTHETIC"
#: Index given to a test movie that never occurs in the training split: no model can score it.
UNSEEN = -1
#: Columns of every ratings frame, in this order.
RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
#: The split of the datasets that ship none (:func:`utils.datasets.base.per_user_split`).
RANDOM_SPLIT = "random"
#: The dataset of the notebooks, and of every command that is not given ``--dataset``.
DEFAULT_DATASET = "ml-100k"

#: The files this series reads; a folder holding them is a usable ML-100K copy.
REQUIRED_FILES = ("u.data", "u.item", "u.user", "u.genre", "u.occupation", "ua.base", "ua.test")
#: The train/test splits shipped with ML-100K (its ``mku.sh`` makes them from ``u.data``).
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
#: Control characters (NUL, ..., and the bytes 0x80-0x9f, which latin-1 decodes to no text): a damaged file.
CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f-\x9f]")


# ---------------------------------------------------------------------------------------------
# Errors: what is wrong, and how to fix it
# ---------------------------------------------------------------------------------------------


class DatasetError(Exception):
    """The dataset's files are missing, incomplete or malformed, or its name is unknown.

    ``problem`` says what is wrong, ``fix`` (where there is one) what to do; ``str(error)`` is
    ``"<problem>\\nFix: <fix>"``.
    """

    def __init__(self, problem: str, fix: str | None = None):
        super().__init__(problem)
        self.problem = problem
        self.fix = fix

    def __str__(self) -> str:
        return f"{self.problem}\nFix: {self.fix}" if self.fix else self.problem


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """No source of the dataset worked; the problem lists every place that was tried."""


class DatasetFormatError(DatasetError, ValueError):
    """A file exists but a line of it is not what the dataset holds there.

    The fix defaults to downloading ML-100K again; :func:`load_movielens` sets the download command
    and variable of the dataset it reads.
    """

    def __init__(self, path: Path | str, line_number: int | None, problem: str, fix: str | None = None):
        self.path = Path(path)
        self.line_number = line_number
        where = f"{self.path}, line {line_number}" if line_number else str(self.path)
        super().__init__(f"{where}: {problem}", fix or ML100K.corrupt_fix())


class DatasetChoiceError(DatasetError, ValueError):
    """An unknown dataset or split name; the problem lists the known ones."""


# ---------------------------------------------------------------------------------------------
# What a dataset is
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """Everything :func:`find_dataset` and :func:`load_movielens` need to know of one dataset.

    :data:`ML100K` is defined below; the others are in :data:`utils.datasets.DATASETS`, their
    readers in the module of their file format.
    """

    #: The ``dataset=`` name (``"ml-1m"``) and the title for messages (``"MovieLens 1M"``).
    name: str
    title: str
    #: The folder the GroupLens zip unpacks to; also the cache folder ``data/<folder>``.
    folder: str
    #: The environment variable that may name a copy, e.g. ``"ML1M_DIR"``.
    env_var: str
    #: The GroupLens zip and the MD5 GroupLens publishes beside it (None where none stays fixed).
    url: str
    md5: str | None
    #: Files a folder must hold to count as a copy of the dataset.
    required_files: tuple[str, ...]
    #: The file of all ratings, and the reader of any ratings file of this format.
    ratings_file: str
    read_ratings: Callable[[Path], pd.DataFrame]
    #: The movie file, and ``folder -> (items, genre names)``: ``items`` has ``item_id``,
    #: ``title`` and one boolean column per genre (maybe more columns before the genres).
    items_file: str
    read_items: Callable[[Path], tuple[pd.DataFrame, list[str]]]
    #: The user file and ``folder -> users`` where the dataset has demographics; else the users
    #: are those of the ratings.
    users_file: str | None = None
    read_users: Callable[[Path], pd.DataFrame] | None = None
    #: Train/test splits shipped as files: ``split name -> (train file, test file)``. A dataset
    #: without one gets :data:`RANDOM_SPLIT`.
    shipped_splits: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: A kagglehub copy (``owner/dataset/versions/N``), tried before the GroupLens zip.
    kaggle_handle: str | None = None
    #: The command that downloads it, and a few of its files, for the fix in error messages.
    download_command: str = ""
    hint_files: tuple[str, ...] = ()

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.shipped_splits) or (RANDOM_SPLIT,)

    @property
    def default_split(self) -> str:
        return self.splits[0]

    @property
    def command(self) -> str:
        return self.download_command or f"python -m utils.data --dataset {self.name}"

    def how_to_get(self) -> str:
        files = ", ".join(self.hint_files or self.required_files[:3])
        return (
            f"with a network connection, run `{self.command}` (downloads into data/{self.folder}); or set "
            f"{self.env_var} to a folder holding the unzipped {self.title} files ({files}, ...), or pass the folder explicitly."
        )

    def corrupt_fix(self) -> str:
        return (
            "the file looks truncated or corrupt: delete the folder and download it again "
            f"(`{self.command}`), or point {self.env_var} at a clean copy."
        )

    def split_files(self, split: str) -> tuple[str, str]:
        """The files that the train and test parts of ``split`` come from (for messages)."""
        return self.shipped_splits.get(split, (self.ratings_file, self.ratings_file))

    def part_names(self, split: str) -> tuple[str, str]:
        """How the summary names the two parts: ``ua.base``/``ua.test``, or ``random train``/``random test``."""
        return self.shipped_splits.get(split, (f"{split} train", f"{split} test"))

    def sources(self) -> list[tuple[str, Callable[[Path], Path]]]:
        """The downloads to try, in order, as ``(name, cache_dir -> folder)``."""
        from utils.datasets.download import sources  # only when the files are not at hand

        return sources(self)


def get_dataset(name: str) -> DatasetSpec:
    """The spec of dataset ``name``, or :class:`DatasetChoiceError` listing the known ones."""
    if name == DEFAULT_DATASET:
        return ML100K
    from utils.datasets import DATASETS  # the other datasets, only when one is asked for

    if name not in DATASETS:
        raise DatasetChoiceError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}.")
    return DATASETS[name]


# ---------------------------------------------------------------------------------------------
# Finding the files
# ---------------------------------------------------------------------------------------------


def missing_files(folder: Path | str, required: Sequence[str] = REQUIRED_FILES) -> list[str]:
    """The names in ``required`` (by default ML-100K's files) that ``folder`` lacks."""
    return [name for name in required if not (Path(folder) / name).is_file()]


def is_synthetic(folder: Path | str) -> bool:
    """True when ``folder`` was written by :mod:`utils.datasets.synthetic`."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


def find_dataset(
    path: Path | str | None = None,
    *,
    dataset: str = DEFAULT_DATASET,
    download: bool = True,
    cache_dir: Path | str = DATA_CACHE_DIR,
    downloaders: Sequence[tuple[str, Callable[[Path], Path]]] | None = None,
) -> Path:
    """Return a folder holding the files of ``dataset``, downloading them into ``cache_dir`` if needed.

    Sources are tried in the order the module's docstring gives; ``downloaders`` replaces the
    dataset's downloads. A download that fails is logged as a warning with its reason before the
    next is tried. An explicit ``path`` or variable that is incomplete is an error of its own (the
    caller asked for that copy), not a reason to download another. Raises
    :class:`DatasetNotFoundError` listing every attempt.
    """
    spec = get_dataset(dataset)
    for origin, chosen in (("the folder you passed", path), (spec.env_var, os.environ.get(spec.env_var))):
        if chosen:
            chosen = Path(os.path.expanduser(chosen))  # an unknown ~user stays as written, and lacks the files
            lacking = missing_files(chosen, spec.required_files)
            if lacking:
                inside = chosen / spec.folder
                hint = "" if missing_files(inside, spec.required_files) else f"; {inside} holds them"
                raise DatasetNotFoundError(
                    f"{origin} ({chosen}) lacks {', '.join(lacking)}.",
                    f"point it at the unzipped {spec.folder} folder (the one holding {spec.ratings_file}){hint}, "
                    "or unset it to use the download cache.",
                )
            return chosen

    cached = Path(cache_dir) / spec.folder
    lacking = missing_files(cached, spec.required_files)
    if not lacking:
        return cached
    attempts = [f"cache {cached}: missing {', '.join(lacking)}"]
    if not download:
        attempts.append("download: not attempted (download=False)")
    else:
        for name, downloader in spec.sources() if downloaders is None else downloaders:
            try:
                return downloader(Path(cache_dir))
            except Exception as error:  # noqa: BLE001 (logged now, listed in the final error)
                logger.warning("%s: %s failed: %s: %s", spec.title, name, type(error).__name__, error)
                attempts.append(f"{name}: {type(error).__name__}: {error}")
    raise DatasetNotFoundError(f"{spec.title} was not found. Tried:\n  - " + "\n  - ".join(attempts), spec.how_to_get())


# ---------------------------------------------------------------------------------------------
# Reading the files of ML-100K
# ---------------------------------------------------------------------------------------------


def _read_lines(path: Path, encoding: str) -> list[str]:
    if not path.is_file():
        raise DatasetNotFoundError(f"{path} does not exist.", ML100K.how_to_get())
    raw = path.read_bytes().removeprefix(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark is no content
    try:  # newlines only (not splitlines): lines numbered as an editor does, a control character kept in its line
        return [line.removesuffix("\r") for line in raw.decode(encoding).split("\n")]
    except UnicodeDecodeError as error:
        line_number = raw.count(b"\n", 0, error.start) + 1
        raise DatasetFormatError(path, line_number, f"byte {raw[error.start]:#04x} is not {encoding} text.") from None


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
        control = CONTROL_CHARACTER.search(line)
        if control:
            column = line.count("|", 0, control.start())
            raise DatasetFormatError(path, line_number, f"the {[*ITEM_COLUMNS, *genres][column]} {fields[column]!r} holds "
                                     f"the control character U+{ord(control.group()):04X}, which is no text.")  # fmt: skip
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


def _read_items_and_genres(data_dir: Path | str) -> tuple[pd.DataFrame, list[str]]:
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
        user_id = _integer(path, line_number, "user id", fields[0])
        age = _integer(path, line_number, "age", fields[1])
        records.append((user_id, age, *fields[2:]))
    if not records:
        raise DatasetFormatError(path, None, "the file lists no user.")
    users = pd.DataFrame.from_records(records, columns=list(USER_COLUMNS))
    return users.astype({"user_id": np.int32, "age": np.int16, "gender": "category", "occupation": "category"})


def read_split(data_dir: Path | str, split: str = "ua") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read the ``<split>.base`` and ``<split>.test`` ratings of one of :data:`SPLITS`."""
    if split not in SPLITS:
        raise DatasetChoiceError(f"unknown split {split!r}; ML-100K ships {', '.join(SPLITS)}.")
    return read_ratings(Path(data_dir) / f"{split}.base"), read_ratings(Path(data_dir) / f"{split}.test")


ML100K = DatasetSpec(
    name=DEFAULT_DATASET,
    title="MovieLens 100K",
    folder="ml-100k",
    env_var="ML100K_DIR",
    url="https://files.grouplens.org/datasets/movielens/ml-100k.zip",
    md5="0e33842e24a9c977be4e0107933c0723",
    required_files=REQUIRED_FILES,
    ratings_file="u.data",
    read_ratings=read_ratings,
    items_file="u.item",
    read_items=_read_items_and_genres,
    users_file="u.user",
    read_users=read_users,
    shipped_splits={split: (f"{split}.base", f"{split}.test") for split in SPLITS},
    kaggle_handle="prajitdatta/movielens-100k-dataset/versions/1",
    download_command="make data",
    hint_files=("u.data", "u.item", "ua.base"),
)


# ---------------------------------------------------------------------------------------------
# Ids -> contiguous indices
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IdMapping:
    """Contiguous 0-based indices for the users and movies of a training split, and back.

    ``user_ids[u]`` is the MovieLens id of user index ``u``; likewise ``item_ids`` for movies.
    Both are sorted, so index order follows id order. A movie absent from training has no index:
    :meth:`item_index` gives it :data:`UNSEEN` (-1), never a NaN or a float; asking for the id of
    an index outside ``[0, n)`` is an :class:`IndexError`, never a wrap-around. Lookups are
    binary searches over whole arrays, so mapping the 32 million ratings of ML-32M takes seconds.
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
        """MovieLens ids of user indices; an index outside ``[0, num_users)`` raises :class:`IndexError`."""
        return self._ids_at(self.user_ids, user_indices, "user")

    def item_id(self, item_indices) -> np.ndarray:
        """MovieLens ids of movie indices; an index outside ``[0, num_items)`` raises :class:`IndexError`."""
        return self._ids_at(self.item_ids, item_indices, "movie")

    @staticmethod
    def _ids_at(ids: np.ndarray, indices, kind: str) -> np.ndarray:
        indices = np.asarray(indices, dtype=np.int64)
        outside = (indices < 0) | (indices >= len(ids))
        if outside.any():
            raise IndexError(
                f"{kind} index {int(indices[outside].flat[0])} is not in [0, {len(ids)}): the training split "
                f"has {len(ids)} {kind}s (an UNSEEN index, -1, has no id)."
            )
        return ids[indices]

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
    name: str = DEFAULT_DATASET

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
        """Movie titles of item indices of the training mapping; any other index raises :class:`IndexError`."""
        title_of = dict(zip(self.items["item_id"].to_numpy(), self.items["title"]))
        return [title_of[int(i)] for i in self.mapping.item_id(item_indices)]


def load_movielens(
    data_dir: Path | str | None = None, split: str | None = None, *, dataset: str = DEFAULT_DATASET, download: bool = True
) -> MovieLens:
    """Find (downloading if needed), read and check one split of ``dataset`` (MovieLens 100K by default).

    ``split`` None is the dataset's own default (``ua`` for ML-100K, ``random`` for the others).
    Checks that every id of the ratings is listed in the movie file (and the user file, where
    there is one) and that every test user has training ratings; raises :class:`DatasetError`
    naming the file and the fix otherwise.
    """
    spec = get_dataset(dataset)
    split = spec.default_split if split is None else split
    if split not in spec.splits:
        shipped = "ships" if spec.shipped_splits else "has the seeded per-user split"
        raise DatasetChoiceError(f"unknown split {split!r}; {spec.title} {shipped} {', '.join(spec.splits)}.")
    folder = find_dataset(data_dir, dataset=dataset, download=download)
    try:
        items, genres = spec.read_items(folder)
        users = spec.read_users(folder) if spec.read_users else None
        train, test = _read_parts(spec, folder, split, items, users)
    except DatasetFormatError as error:
        error.fix = spec.corrupt_fix()  # a bad line here is a damaged copy of this very dataset
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
            "use a split whose test users all appear in training (ua, ub, u1-u5 of ML-100K do, and so does "
            "the random split of the others).",
        )
    test = test.assign(user_index=test_users, item_index=mapping.item_index(test["item_id"].to_numpy()))
    return MovieLens(folder, split, train, test, items, users, genres, mapping, name=spec.name)


def _read_parts(
    spec: DatasetSpec, folder: Path, split: str, items: pd.DataFrame, users: pd.DataFrame | None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The train and test ratings of ``split``, their ids checked against the movie and user files."""
    files = spec.shipped_splits.get(split, (spec.ratings_file,))
    parts = tuple(spec.read_ratings(folder / name) for name in files)
    for name, frame in zip(files, parts):
        if users is not None:
            _check_ids_exist(folder / name, frame, "user_id", users["user_id"], spec.users_file)
        _check_ids_exist(folder / name, frame, "item_id", items["item_id"], spec.items_file)
    if len(parts) == 2:
        return parts
    from utils.datasets.base import per_user_split  # the split of the datasets that ship none

    return per_user_split(parts[0])


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


if __name__ == "__main__":  # `python -m utils.data`: find or download a dataset (see utils/datasets/cli.py)
    from utils.datasets.cli import main

    main()
