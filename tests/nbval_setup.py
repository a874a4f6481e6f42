"""How `make test` runs the notebooks under nbval: a pytest plugin, loaded with ``-p tests.nbval_setup``.

It lives here rather than as a conftest.py beside the notebooks so that the students' folder holds
only notebooks. (``tests`` has no ``__init__.py``: the name resolves, from the repository root, to
this folder as a namespace package, and cannot be mistaken for a test module or tests/conftest.py.)

- Every notebook runs in its quick setting (``LIGHTGCN_QUICK`` on unless you set it off): the values
  its metadata lists under ``lightgcn.quick`` are appended to its ``parameters`` cell, as papermill
  injects parameters, so the whole series executes in CI in minutes while the cells a student
  reads hold only the real values.
- With ``ML100K_DIR`` naming the real MovieLens 100K, the notebooks run on it and the cells marked
  ``# NBVAL_CHECK_OUTPUT`` must print exactly the saved facts (100000 ratings, 943 users, ...).
- Without it (a fresh machine, no network), they run on the synthetic dataset of
  :mod:`utils.datasets.synthetic`. Every cell must still execute without error, but the real-data facts
  cannot match, so the output comparison is switched off; the cells' own asserts still run.
- Checkpoints go to a temporary folder of the session's own, whatever ``LIGHTGCN_CHECKPOINT_DIR``
  says: a test run never reads or replaces a checkpoint of yours. That folder, and the synthetic
  dataset written for the run, are removed when the session ends.
- ``LIGHTGCN_SAVED_OUTPUT`` is on unless you set it off. A value of either variable that is neither
  on nor off (:func:`utils.progress.env_flag`) stops the session before any test runs.

To run one notebook the way `make test` does::

    PYTHONPATH=. .venv/bin/python -m pytest -p tests.nbval_setup notebooks/01_dataset.ipynb --nbval-lax --nbval-current-env
"""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from utils.data import is_synthetic
from utils.datasets.synthetic import write_synthetic_ml100k
from utils.notebook import METADATA_KEY, override_parameters, parameters_cell
from utils.progress import env_flag

#: The variables this plugin sets, with what they held before; and the folders it made.
_saved_environment: dict[str, str | None] = {}
_made_folders: list[Path] = []


def _set(name: str, value: str) -> None:
    _saved_environment.setdefault(name, os.environ.get(name))
    os.environ[name] = value


def pytest_configure(config):
    for flag in ("LIGHTGCN_QUICK", "LIGHTGCN_SAVED_OUTPUT"):  # saved outputs: progress bars as a saved notebook shows them
        try:
            env_flag(flag)
        except ValueError as error:
            raise pytest.UsageError(str(error)) from None
        if not os.environ.get(flag, "").strip():
            _set(flag, "1")
    if not os.environ.get("MPLBACKEND"):
        _set("MPLBACKEND", "Agg")
    if not os.environ.get("ML100K_DIR"):
        folder = Path(tempfile.mkdtemp(prefix="synthetic-ml100k-"))
        _made_folders.append(folder)
        write_synthetic_ml100k(folder)
        _set("ML100K_DIR", str(folder))
    checkpoints = Path(tempfile.mkdtemp(prefix="lightgcn-checkpoints-"))
    _made_folders.append(checkpoints)
    _set("LIGHTGCN_CHECKPOINT_DIR", str(checkpoints))


def pytest_unconfigure(config):
    for name, value in _saved_environment.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value
    _saved_environment.clear()
    for folder in _made_folders:
        shutil.rmtree(folder, ignore_errors=True)
    _made_folders.clear()


def _quick_setting(items) -> None:
    """Append each notebook's quick values to its parameters cell (once per notebook)."""
    done = set()
    for item in items:
        notebook = getattr(item.parent, "nb", None)
        if notebook is None or id(notebook) in done or item.path.suffix != ".ipynb":
            continue
        done.add(id(notebook))
        quick = notebook.metadata.get(METADATA_KEY, {}).get("quick")
        if quick:
            override_parameters(parameters_cell(notebook.cells), quick, "the quick setting of make test")


def pytest_collection_modifyitems(config, items):
    if env_flag("LIGHTGCN_QUICK"):
        _quick_setting(items)
    if not is_synthetic(os.environ["ML100K_DIR"]):
        return
    for item in items:
        options = getattr(item, "options", None)
        if options is not None and "check" in options and item.path.suffix == ".ipynb":
            options["check"] = False
