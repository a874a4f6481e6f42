"""The command line of the data layer: ``--dataset``/``--data-dir``/``--split``, and ``python -m utils.data``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from utils.data import (
    DEFAULT_DATASET,
    ML100K_FACTS,
    RANDOM_SPLIT,
    DatasetError,
    DatasetFormatError,
    MovieLens,
    find_dataset,
    get_dataset,
    is_synthetic,
    load_movielens,
    read_items,
    read_occupations,
    read_split,
    read_users,
)
from utils.datasets import DATASETS


def add_dataset_arguments(parser: argparse.ArgumentParser, *, default: str = DEFAULT_DATASET) -> argparse.ArgumentParser:
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


def dataset_from_args(args: argparse.Namespace, download: bool = True) -> MovieLens:
    """The dataset that :func:`add_dataset_arguments`'s options name; a :class:`DatasetError` ends the program."""
    try:
        return load_movielens(args.data_dir, args.split, dataset=args.dataset, download=download)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m utils.data [--dataset NAME]``: download (if needed), check every file, and print where the data is."""
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
        counts = check_dataset(folder, args.dataset)
    except DatasetError as error:
        raise SystemExit(f"error: {error}") from None
    print(f"{get_dataset(args.dataset).title} is at {folder}: {counts}, every file read and checked")


def check_dataset(folder: Path, dataset: str = DEFAULT_DATASET) -> str:
    """Read every file of ``folder`` that :func:`~utils.data.load_movielens` reads, and the file of all
    ratings, and say what they hold; a :class:`~utils.data.DatasetError` names the first bad file and line.

    A file cut at the end of a line still parses, so a copy of the real ML-100K (which never changes)
    must also have its published counts, :data:`~utils.data.ML100K_FACTS`.
    """
    spec = get_dataset(dataset)
    try:
        # Where the splits are files of their own, the file of all ratings is read apart.
        everything = spec.read_ratings(folder / spec.ratings_file) if spec.shipped_splits else None
        if dataset == DEFAULT_DATASET:
            read_occupations(folder)  # a required file that no loader reads
            if not is_synthetic(folder):
                _check_ml100k_counts(folder, len(everything))
    except DatasetFormatError as error:
        error.fix = spec.corrupt_fix()
        raise
    loaded = load_movielens(folder, dataset=dataset, download=False)
    ratings = len(loaded.train) + len(loaded.test) if everything is None else len(everything)
    synthetic = " (synthetic, not real ratings)" if is_synthetic(folder) else ""
    return f"{ratings:,} ratings, {len(loaded.users):,} users, {len(loaded.items):,} movies{synthetic}"


#: The file behind each of :data:`~utils.data.ML100K_FACTS`.
_FACT_FILES = {"ratings": "u.data", "ua.base rows": "ua.base", "ua.test rows": "ua.test", "users": "u.user",
               "movies": "u.item", "training movies (ua.base)": "ua.base"}  # fmt: skip


def _check_ml100k_counts(folder: Path, ratings: int) -> None:
    train, test = read_split(folder, "ua")
    found = {"ratings": ratings, "ua.base rows": len(train), "ua.test rows": len(test),
             "users": len(read_users(folder)), "movies": len(read_items(folder)),
             "training movies (ua.base)": train["item_id"].nunique()}  # fmt: skip
    for fact, expected in ML100K_FACTS.items():
        if found[fact] != expected:
            raise DatasetFormatError(
                folder / _FACT_FILES[fact],
                None,
                f"{found[fact]:,} {fact} where MovieLens 100K has {expected:,}: the copy is incomplete or altered.",
            )


if __name__ == "__main__":
    main()
