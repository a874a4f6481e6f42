"""The command line of the data layer: ``--dataset``/``--data-dir``/``--split``, and ``python -m utils.data``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from utils.data import DEFAULT_DATASET, RANDOM_SPLIT, DatasetError, MovieLens, find_dataset, get_dataset, load_movielens
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
    """``python -m utils.data [--dataset NAME]``: download (if needed) and print where the data is."""
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
