"""Shared fixtures: a synthetic dataset for every test, the real one when ``ML100K_DIR`` names it,
and a checkpoint folder of the session's own."""

import os
import shutil
import tempfile
from pathlib import Path

import pytest

from utils.data import is_synthetic, load_movielens, missing_files
from utils.datasets.synthetic import write_synthetic_ml100k


@pytest.fixture(scope="session", autouse=True)
def own_checkpoint_dir():
    """Every checkpoint a test saves without naming a place goes to a folder of this session's own,
    removed at its end, even when ``LIGHTGCN_CHECKPOINT_DIR`` names yours (also without ``-p tests.nbval_setup``)."""
    folder = Path(tempfile.mkdtemp(prefix="lightgcn-checkpoints-"))
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(folder))
            yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture(scope="session")
def synthetic_dir(tmp_path_factory) -> Path:
    return write_synthetic_ml100k(tmp_path_factory.mktemp("synthetic") / "ml-100k", seed=0)


@pytest.fixture(scope="session")
def synthetic(synthetic_dir):
    return load_movielens(synthetic_dir, download=False)


@pytest.fixture(scope="session")
def real_dir() -> Path:
    folder = os.environ.get("ML100K_DIR")
    if not folder or missing_files(folder) or is_synthetic(folder):
        pytest.skip("the real MovieLens 100K is not at hand (set ML100K_DIR to run this check)")
    return Path(folder)


@pytest.fixture(scope="session")
def real(real_dir):
    return load_movielens(real_dir, download=False)


@pytest.fixture
def copy_of(tmp_path):
    """Copy a dataset folder into a scratch folder that a test may corrupt."""

    def _copy(folder: Path) -> Path:
        target = tmp_path / "ml-100k"
        target.mkdir()
        for file in Path(folder).iterdir():
            (target / file.name).write_bytes(file.read_bytes())
        return target

    return _copy
