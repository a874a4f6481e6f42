"""The Colab path, imitated offline: the notebooks' first cell on a runtime that has `google.colab`,
other versions of numpy and pandas already imported, and no copy of the series yet.

Each run is a fresh interpreter in an empty folder (Colab's /content). The repository address of the
cell is pointed at a local git repository holding this working tree's `utils/` (git's own
``url.<copy>.insteadOf`` setting, so the cell's text is the notebooks' own); git may use only local
files, and pip is replaced by a recorder, so nothing reaches the network. What the imitation cannot
show: that Colab reconnects after the restart (it does so for any process that ends).
"""

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from utils.notebook import REPO_NAME, REPO_URL, ROOT, SETUP_CELL, pinned_requirements, setup_cell_index

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="the setup cell clones with git")

NOTEBOOK = "01_dataset.ipynb"
#: Versions a Colab runtime might have, other than the pins.
COLAB_NUMPY, COLAB_PANDAS = "1.26.4", "2.2.2"

#: Runs in the imitated runtime: argv[1] is JSON with the cells to run, the versions installed
#: (None: not installed) and the versions of the modules imported before the first cell.
DRIVER = """
import importlib.metadata, json, subprocess, sys
import google.colab  # Colab's kernel imports it before the first cell
import numpy, pandas  # and these, at the runtime's versions
settings = json.loads(sys.argv[1])
for name, version in settings["imported"].items():
    sys.modules[name].__version__ = version
installed, metadata_version = settings["installed"], importlib.metadata.version
def version(name):
    if name not in installed:
        return metadata_version(name)
    if installed[name] is None:
        raise importlib.metadata.PackageNotFoundError(name)
    return installed[name]
importlib.metadata.version = version
real_run = subprocess.run
def run(command, *args, **kwargs):
    if list(command[:4]) == [sys.executable, "-m", "pip", "install"]:
        print("pip install:", " ".join(command[4:]), flush=True)
        return subprocess.CompletedProcess(command, 0)
    return real_run(command, *args, **kwargs)
subprocess.run = run
namespace = {}
for number, cell in enumerate(settings["cells"]):
    exec(compile(cell, f"<cell {number}>", "exec"), namespace)
    print(f"cell {number} ran", flush=True)
import utils
print("utils from", utils.__file__)
"""


@pytest.fixture(scope="module")
def origin(tmp_path_factory) -> Path:
    """A git repository of this working tree's code: what the cell's clone fetches."""
    repository = tmp_path_factory.mktemp("origin") / REPO_NAME
    shutil.copytree(ROOT / "utils", repository / "utils", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "requirements.txt", repository)
    git = ["git", "-c", "user.name=test", "-c", "user.email=test@example.invalid", "-C", str(repository)]
    for command in (["init", "-q"], ["add", "-A"], ["commit", "-q", "-m", "the series"]):
        subprocess.run([*git, *command], check=True, capture_output=True)  # noqa: S603 (git, fixed arguments)
    return repository


@pytest.fixture(scope="module")
def cells() -> list[str]:
    """The setup cell of a notebook and its next code cells, up to the first that imports from utils."""
    notebook = json.loads((ROOT / "notebooks" / NOTEBOOK).read_text())["cells"]
    code = ["".join(cell["source"]) for cell in notebook[setup_cell_index(notebook):] if cell["cell_type"] == "code"]
    until = next(number for number, cell in enumerate(code) if number and "from utils" in cell)
    return code[: until + 1]


@pytest.fixture(scope="module")
def google_colab(tmp_path_factory) -> Path:
    """A folder for PYTHONPATH where ``import google.colab`` finds an empty module."""
    folder = tmp_path_factory.mktemp("fake-colab")
    (folder / "google" / "colab").mkdir(parents=True)
    (folder / "google" / "colab" / "__init__.py").write_text('"""Stands for Colab\'s module in tests."""\n')
    return folder


def run_on_colab(content: Path, origin: Path, google_colab: Path, cells, *, installed, imported):
    environment = {
        "PATH": os.environ["PATH"],
        "HOME": str(content.parent),
        "PYTHONPATH": str(google_colab),  # not this repository: utils must come from the clone
        "MPLBACKEND": "Agg",
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"url.{origin.as_uri()}.insteadOf",
        "GIT_CONFIG_VALUE_0": REPO_URL,
        "GIT_ALLOW_PROTOCOL": "file",  # a clone from the network would fail
        "PIP_NO_INDEX": "1",  # and so would a pip that escaped the recorder
    }
    settings = {"cells": cells, "installed": installed, "imported": imported}
    content.mkdir(exist_ok=True)
    return subprocess.run(  # noqa: S603 (our own interpreter and driver)
        [sys.executable, "-c", DRIVER, json.dumps(settings)], cwd=content, env=environment, capture_output=True,
        text=True, timeout=300,
    )


def test_first_run_installs_what_colab_lacks_then_restarts_and_the_second_run_installs_nothing(
    tmp_path, origin, google_colab, cells
):
    pins = pinned_requirements()
    colab = {**pins, "numpy": COLAB_NUMPY, "pandas": COLAB_PANDAS, "kagglehub": None}
    content = tmp_path / "content"
    first = run_on_colab(content, origin, google_colab, cells, installed=colab,
                         imported={"numpy": COLAB_NUMPY, "pandas": COLAB_PANDAS})  # fmt: skip
    assert first.returncode == -signal.SIGKILL, first.stdout + first.stderr  # Colab's restart
    assert (content / REPO_NAME / "utils" / "notebook.py").is_file()  # the cell cloned the series
    lines = first.stdout.splitlines()
    assert f"pip install: -q numpy=={pins['numpy']} pandas=={pins['pandas']} kagglehub=={pins['kagglehub']}" in lines
    assert "Colab setup: installing numpy==" in first.stdout
    restart = next(line for line in lines if "Restarting the runtime" in line)
    assert restart.startswith("Colab setup: numpy, pandas had been imported at another version")
    assert "run the notebook again" in restart and "cell 0 ran" not in lines  # nothing ran after the restart

    # After the restart: the clone is there, the pins are installed and imported.
    second = run_on_colab(content, origin, google_colab, cells, installed=pins,
                          imported={"numpy": pins["numpy"], "pandas": pins["pandas"]})  # fmt: skip
    assert second.returncode == 0, second.stdout + second.stderr
    assert "pip install" not in second.stdout and "Restarting" not in second.stdout
    assert "Cloning into" not in second.stderr
    assert [line for line in second.stdout.splitlines() if line.endswith(" ran")] == [f"cell {n} ran" for n in range(len(cells))]
    assert f"utils from {content / REPO_NAME / 'utils' / '__init__.py'}" in second.stdout


def test_a_package_colab_lacks_but_has_not_imported_needs_no_restart(tmp_path, origin, google_colab, cells):
    pins = pinned_requirements()
    run = run_on_colab(tmp_path / "content", origin, google_colab, cells,
                       installed={**pins, "seaborn": "0.12.2", "kagglehub": None},
                       imported={"numpy": pins["numpy"], "pandas": pins["pandas"]})  # fmt: skip
    assert run.returncode == 0, run.stdout + run.stderr
    assert f"pip install: -q seaborn=={pins['seaborn']} kagglehub=={pins['kagglehub']}" in run.stdout.splitlines()
    assert "Restarting" not in run.stdout and f"cell {len(cells) - 1} ran" in run.stdout


def test_rerunning_the_cell_without_the_restart_still_restarts(tmp_path, origin, google_colab):
    """pip has installed the pins, but this process still holds the numpy it imported before."""
    pins = pinned_requirements()
    run = run_on_colab(tmp_path / "content", origin, google_colab, [SETUP_CELL], installed=pins,
                       imported={"numpy": COLAB_NUMPY, "pandas": pins["pandas"]})  # fmt: skip
    assert run.returncode == -signal.SIGKILL, run.stdout + run.stderr
    assert "pip install" not in run.stdout
    assert "Colab setup: numpy had been imported at another version" in run.stdout
