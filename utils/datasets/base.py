"""What every dataset module shares: the errors, the :class:`DatasetSpec`, downloads, checks, the per-user split.

Nothing here knows a particular file format; :mod:`utils.datasets.movielens_100k`,
:mod:`utils.datasets.movielens_dat` and :mod:`utils.datasets.movielens_csv` do, and
:mod:`utils.datasets` lists one :class:`DatasetSpec` per dataset.
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import tempfile
import urllib.request
import warnings
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent.parent
DATA_CACHE_DIR = PROJECT_ROOT / "data"
#: A file of this name marks a folder written by :mod:`utils.datasets.synthetic`.
SYNTHETIC_MARKER = "SYNTHETIC"
#: Index given to a test movie that never occurs in the training split: no model can score it.
UNSEEN = -1
#: The name of the seeded per-user split of the datasets that ship none (:func:`per_user_split`).
RANDOM_SPLIT = "random"
#: Its settings: the share of each user's ratings held out, the fewest ratings a user needs to lose
#: any, and the seed. Changing one changes every number measured on the split.
RANDOM_SPLIT_TEST_SHARE = 0.2
RANDOM_SPLIT_MIN_RATINGS = 5
RANDOM_SPLIT_SEED = 0
#: The largest user or movie id (ids are stored as int32).
MAX_ID = int(np.iinfo(np.int32).max)
#: Columns of every ratings frame, in this order.
RATING_COLUMNS = ("user_id", "item_id", "rating", "timestamp")
#: What the fast readers parse the columns as (pandas raises on ids past int32 and on non-numbers).
RATINGS_DTYPES = {"user_id": np.int32, "item_id": np.int32, "rating": np.float32, "timestamp": np.int64}

_DEFAULT_FIX = (
    "The file looks truncated or corrupt: delete the folder and download it again "
    "(`make data`), or point ML100K_DIR at a clean copy."
)


class DatasetError(Exception):
    """The MovieLens files are missing, incomplete or malformed; the message says how to fix it."""


class DatasetNotFoundError(DatasetError, FileNotFoundError):
    """No source of the dataset worked; the message lists every place that was tried."""


class DatasetFormatError(DatasetError, ValueError):
    """A file exists but a line of it is not what the dataset holds there."""

    def __init__(self, path: Path | str, line_number: int | None, problem: str, fix: str = ""):
        self.path = Path(path)
        self.line_number = line_number
        self.problem = problem
        self.default_fix = not fix
        self.fix = fix or _DEFAULT_FIX
        where = f"{self.path}, line {line_number}" if line_number else str(self.path)
        super().__init__(f"{where}: {problem}\n{self.fix}")

    def with_fix(self, fix: str) -> DatasetFormatError:
        """The same error with another fix (the one that names the dataset's own command and variable)."""
        return DatasetFormatError(self.path, self.line_number, self.problem, fix)


class DatasetChoiceError(DatasetError, ValueError):
    """An unknown dataset or split name; the message lists the known ones."""


# ---------------------------------------------------------------------------------------------
# What a dataset is
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DatasetSpec:
    """Everything the generic layer (:mod:`utils.data`) needs to find, download and read one dataset.

    The readers come from the module of the dataset's file format; a dataset in a known format is
    one more ``DatasetSpec`` in :data:`utils.datasets.DATASETS`.
    """

    #: The ``--dataset`` value, e.g. ``"ml-1m"``.
    name: str
    #: For messages, e.g. ``"MovieLens 1M"``.
    title: str
    #: The folder the GroupLens zip unpacks to; also the cache folder ``data/<folder>``.
    folder: str
    #: The environment variable that may name a copy, e.g. ``"ML1M_DIR"``.
    env_var: str
    #: The GroupLens zip.
    url: str
    #: The MD5 GroupLens publishes beside the zip (``<zip>.md5``); None where none stays fixed.
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
    #: The user file and ``folder -> users``, where the dataset has demographics; else None and
    #: the users are those of the ratings.
    users_file: str | None = None
    read_users: Callable[[Path], pd.DataFrame] | None = None
    #: Train/test splits shipped as files: ``split name -> (train file, test file)``. A dataset
    #: without one gets :data:`RANDOM_SPLIT` (:func:`per_user_split`).
    shipped_splits: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    #: Downloads tried before the GroupLens zip: ``(name, cache_dir -> folder)``.
    extra_sources: tuple[tuple[str, Callable[[Path], Path]], ...] = ()
    #: The command that downloads it, for the fix in error messages.
    download_command: str = ""
    #: A few of its files, for the fix in error messages.
    hint_files: tuple[str, ...] = ()
    #: What the ratings are, for documentation: e.g. "1-5 stars" or "0.5-5.0 in half stars".
    rating_scale: str = ""

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
            f"Fix: with a network connection, run `{self.command}` (downloads into data/{self.folder}); or set "
            f"{self.env_var} to a folder holding the unzipped {self.title} files ({files}, ...), or pass the folder explicitly."
        )

    def corrupt_fix(self) -> str:
        return (
            "The file looks truncated or corrupt: delete the folder and download it again "
            f"(`{self.command}`), or point {self.env_var} at a clean copy."
        )

    def split_files(self, split: str) -> tuple[str, str]:
        """The files that the train and test parts of ``split`` come from (for messages)."""
        return self.shipped_splits.get(split, (self.ratings_file, self.ratings_file))

    def part_names(self, split: str) -> tuple[str, str]:
        """How the summary names the two parts: ``ua.base``/``ua.test``, or ``random train``/``random test``."""
        if split in self.shipped_splits:
            return self.shipped_splits[split]
        return f"{split} train", f"{split} test"

    def sources(self) -> list[tuple[str, Callable[[Path], Path]]]:
        """The downloads to try, in order: the extra ones, then the GroupLens zip."""
        return [*self.extra_sources, ("GroupLens zip", lambda target: download_zip(self, target))]


# ---------------------------------------------------------------------------------------------
# Folders and downloads
# ---------------------------------------------------------------------------------------------


def missing_files(folder: Path | str, required: Sequence[str]) -> list[str]:
    """The names in ``required`` that ``folder`` lacks (all of them if it is no folder)."""
    folder = Path(folder)
    return [name for name in required if not (folder / name).is_file()]


def is_synthetic(folder: Path | str) -> bool:
    """True when ``folder`` was written by :mod:`utils.datasets.synthetic`."""
    return (Path(folder) / SYNTHETIC_MARKER).is_file()


class UnverifiedDownloadWarning(UserWarning):
    """A download whose checksum could not be checked (GroupLens publishes none that stays fixed)."""


def download_zip(
    spec: DatasetSpec,
    cache_dir: Path,
    *,
    url: str | None = None,
    md5: str | None = "published",
    fetch: Callable[[str], bytes | Path] | None = None,
) -> Path:
    """Download ``spec``'s GroupLens zip, check its MD5, unzip it into ``cache_dir``; return the folder.

    ``md5="published"`` checks against ``spec.md5``; ``None`` (or a spec without one) downloads
    unverified and says so with an :class:`UnverifiedDownloadWarning`. ``fetch(url)`` returns the
    bytes or a file holding them (the default streams to a temporary file, so a 250 MB zip never
    sits in memory twice).
    """
    url = url or spec.url
    md5 = spec.md5 if md5 == "published" else md5
    cache_dir = Path(cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    fetched = (fetch or fetch_url_to_file)(url)
    zip_file = fetched if isinstance(fetched, Path) else None
    try:
        source = open(zip_file, "rb") if zip_file else io.BytesIO(fetched)
        with source:
            digest, size = _md5_of(source)
            if md5 is None:
                why = (
                    f"GroupLens publishes no fixed MD5 for {spec.title} (it changes over time)"
                    if spec.md5 is None
                    else "no MD5 was given to check it against"
                )
                warnings.warn(
                    f"{url}: {why}, so the download ({size} bytes, MD5 {digest}) could not be verified.",
                    UnverifiedDownloadWarning,
                    stacklevel=2,
                )
            elif digest != md5:
                raise DatasetError(
                    f"{url} downloaded {size} bytes with MD5 {digest}, not the published {md5}: "
                    "the download is incomplete or the file changed. Try again later."
                )
            source.seek(0)
            try:
                _unzip_into(source, cache_dir, spec.folder)
            except zipfile.BadZipFile as error:
                raise DatasetError(f"{url} downloaded {size} bytes that are not a zip file ({error}).") from None
    finally:
        if zip_file is not None and fetch is None:
            zip_file.unlink(missing_ok=True)
    folder = cache_dir / spec.folder
    if missing_files(folder, spec.required_files):
        raise DatasetError(f"{url} unzipped without {missing_files(folder, spec.required_files)}.")
    return folder


def _md5_of(source: io.BufferedIOBase) -> tuple[str, int]:
    digest = hashlib.md5(usedforsecurity=False)
    size = 0
    while chunk := source.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _unzip_into(source, cache_dir: Path, folder: str) -> None:
    """Unzip into a scratch folder first, so an interrupted unzip never looks like a complete copy."""
    scratch = Path(tempfile.mkdtemp(prefix=f".unzip-{folder}-", dir=cache_dir))
    try:
        with zipfile.ZipFile(source) as archive:
            archive.extractall(scratch)
        unpacked = scratch / folder
        if not unpacked.is_dir():
            return  # the caller reports the missing files
        target = cache_dir / folder
        target.mkdir(parents=True, exist_ok=True)
        for file in unpacked.iterdir():
            destination = target / file.name
            if destination.is_dir():
                shutil.rmtree(destination)
            os.replace(file, destination)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def fetch_url_to_file(url: str, timeout: float = 60.0) -> Path:
    """Stream ``url`` into a temporary file and return its path (the caller deletes it)."""
    handle, name = tempfile.mkstemp(suffix=".zip")
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (fixed https URL)
            shutil.copyfileobj(response, out, length=1 << 20)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
    return Path(name)


def copy_into_cache(folder: Path, cache_dir: Path, name: str) -> Path:
    """Copy the files of ``folder`` into ``cache_dir/name`` (unless it is that folder); return it."""
    target = cache_dir / name
    if folder.resolve() != target.resolve():
        target.mkdir(parents=True, exist_ok=True)
        for file in folder.iterdir():
            if file.is_file():
                shutil.copy2(file, target / file.name)
    return target


# ---------------------------------------------------------------------------------------------
# Reading: shared checks
# ---------------------------------------------------------------------------------------------

#: The fix of a format error in a file read outside :func:`utils.data.load_dataset` (which names the
#: dataset's own command and environment variable instead).
GENERIC_FIX = (
    "The file looks truncated or corrupt: delete the folder and download it again "
    "(`python -m utils.data --dataset NAME`), or point the dataset's environment variable at a clean copy."
)


def require_file(path: Path) -> Path:
    """``path`` itself, or :class:`DatasetNotFoundError` saying how to get the data."""
    if not path.is_file():
        raise DatasetNotFoundError(
            f"{path} does not exist.\nFix: download the dataset again (`python -m utils.data --dataset NAME`), "
            "or point its environment variable (ML1M_DIR, ML25M_DIR, ...) at a complete copy."
        )
    return path


def decode(path: Path, raw: bytes, encodings: Sequence[str]) -> str:
    """``raw`` decoded with the first of ``encodings`` that works (latin-1 always does)."""
    for encoding in encodings:
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError as error:
            last = error
    line = raw[: last.start].count(b"\n") + 1
    raise DatasetFormatError(path, line, f"the text is not {' or '.join(encodings)}: {last.reason}.", GENERIC_FIX)


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
    path: Path, text: str, *, separator: str, header: str | None, half_stars: bool, fix: str = GENERIC_FIX
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
        raise DatasetFormatError(path, None, f"movie id {duplicate} appears twice.", GENERIC_FIX)
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
