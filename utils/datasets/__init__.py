"""The datasets the series can read: one :class:`~utils.datasets.base.DatasetSpec` each.

A file format is one module (:mod:`~utils.datasets.movielens_100k`, :mod:`~utils.datasets.movielens_dat`
for the ``::``-separated 1M and 10M, :mod:`~utils.datasets.movielens_csv` for 20M, 25M, 32M and
``ml-latest-small``); a dataset is one entry of :data:`DATASETS`. To add one in a known format, add
an entry here; in a new format, write a module with its readers and a ``spec()``, then add the entry.
:mod:`utils.data` does the rest: finding the folder, downloading and checking the zip, the splits,
the id mapping, the errors and the command-line options.

MD5s are the ones GroupLens publishes beside each zip (``<zip>.md5``), as quoted by public projects
that download these files (this project's machines cannot reach GroupLens to recompute them); a
download whose MD5 differs is refused with an error that shows both. ``ml-latest-small`` changes
over time, so it has none, and its download is unverified (a warning says so).
"""

from __future__ import annotations

from utils.datasets import movielens_100k, movielens_csv, movielens_dat
from utils.datasets.base import DatasetChoiceError, DatasetSpec

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        movielens_100k.SPEC,
        movielens_dat.spec(
            "ml-1m", "MovieLens 1M", folder="ml-1m", env_var="ML1M_DIR", md5="c4d9eecfca2ab87c1945afe126590906",
            half_stars=False, encodings=("latin-1",), with_users=True,
        ),
        movielens_dat.spec(
            "ml-10m", "MovieLens 10M", folder="ml-10M100K", env_var="ML10M_DIR", md5="ce571fd55effeba0271552578f2648bd",
            half_stars=True, encodings=("utf-8", "latin-1"), with_users=False,
        ),
        movielens_csv.spec("ml-20m", "MovieLens 20M", env_var="ML20M_DIR", md5="cd245b17a1ae2cc31bb14903e1204af3"),
        movielens_csv.spec("ml-25m", "MovieLens 25M", env_var="ML25M_DIR", md5="6b51fb2759a8657d3bfcbfc42b592ada"),
        movielens_csv.spec("ml-32m", "MovieLens 32M", env_var="ML32M_DIR", md5="d472be332d4daa821edc399621853b57"),
        movielens_csv.spec("ml-latest-small", "MovieLens latest small", env_var="ML_LATEST_SMALL_DIR", md5=None),
    )
}  # fmt: skip


#: The dataset of the notebooks, and of every command that is not given ``--dataset``.
DEFAULT_DATASET = movielens_100k.SPEC.name


def get_dataset(name: str) -> DatasetSpec:
    """The spec of dataset ``name``, or :class:`DatasetChoiceError` listing the known ones."""
    try:
        return DATASETS[name]
    except KeyError:
        raise DatasetChoiceError(f"unknown dataset {name!r}; known: {', '.join(DATASETS)}.") from None
