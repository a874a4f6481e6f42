"""The MovieLens datasets beyond the default 100K: one :class:`~utils.data.DatasetSpec` each.

:mod:`utils.data` holds all a student reads for MovieLens 100K (its spec, ``utils.data.ML100K``)
and the generic layer that finds, reads and checks any dataset. This package holds what only the
other datasets and the downloads need, imported by :func:`utils.data.get_dataset` the first time one
is named:

- :mod:`~utils.datasets.movielens_dat`: the ``::``-separated 1M and 10M;
- :mod:`~utils.datasets.movielens_csv`: the CSVs of 20M, 25M, 32M and ``ml-latest-small``;
- :mod:`~utils.datasets.base`: what those readers share, and the seeded per-user ``random`` split
  (the datasets ship no split of their own);
- :mod:`~utils.datasets.download`: kagglehub, the GroupLens zips and their MD5s;
- :mod:`~utils.datasets.cli`: ``--dataset``/``--data-dir``/``--split`` and ``python -m utils.data``;
- :mod:`~utils.datasets.synthetic`: synthetic files in every format, for the offline tests.

A dataset is one entry of :data:`DATASETS`. To add one in a known format, add an entry here; in a
new format, write a module with its readers and a ``spec()``, then add the entry.

MD5s are the ones GroupLens publishes beside each zip (``<zip>.md5``), as quoted by public projects
that download these files (this project's machines cannot reach GroupLens to recompute them); a
download whose MD5 differs is refused with an error that shows both. ``ml-latest-small`` changes
over time, so it has none, and its download is unverified (a warning says so).
"""

from __future__ import annotations

from utils.data import ML100K, DatasetSpec
from utils.datasets import movielens_csv, movielens_dat

DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec
    for spec in (
        ML100K,
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
