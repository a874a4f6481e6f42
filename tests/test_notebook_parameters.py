"""Every split the parameters cell of notebook 01 offers runs: CI executes it with ``SPLIT`` set to u1 and ub.

The saved notebook (and nbval) run it with the default ``ua``; here the ``parameters`` cell's ``SPLIT``
is replaced, the notebook executed with nbclient from its own folder, and the summary cell must name
the chosen split. It runs on the real MovieLens 100K when ``ML100K_DIR`` names it, else on the
synthetic stand-in.
"""

import os
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from utils.data import is_synthetic, missing_files
from utils.datasets.synthetic import write_synthetic_ml100k

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "01_dataset.ipynb"


def _data_dir(tmp_path: Path) -> Path:
    folder = os.environ.get("ML100K_DIR")
    if folder and not missing_files(folder) and not is_synthetic(folder):
        return Path(folder)
    return write_synthetic_ml100k(tmp_path / "ml-100k")


def _with_split(nb, split: str):
    cells = [cell for cell in nb.cells if "parameters" in cell.get("metadata", {}).get("tags", [])]
    assert len(cells) == 1, "notebook 01 must have exactly one cell tagged 'parameters'"
    source, count = re.subn(r'^SPLIT = "[^"]*"', f"SPLIT = {split!r}", cells[0].source, flags=re.MULTILINE)
    assert count == 1, "the parameters cell must set SPLIT on a line of its own"
    cells[0].source = source
    return nb


def _text_outputs(cell) -> str:
    return "".join(output.get("text", "") for output in cell.get("outputs", []) if output.get("output_type") == "stream")


@pytest.mark.parametrize("split", ["u1", "ub"])
def test_notebook_01_runs_with_every_split_it_offers(split, tmp_path, monkeypatch):
    monkeypatch.setenv("ML100K_DIR", str(_data_dir(tmp_path)))
    monkeypatch.setenv("LIGHTGCN_QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "1")
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    nb = _with_split(nbformat.read(NOTEBOOK, as_version=4), split)

    # Raises CellExecutionError, with the failing cell and its traceback, if any cell fails.
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()

    errors = [output for cell in nb.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
    summary = next(cell for cell in nb.cells if cell.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in cell.source)
    printed = _text_outputs(summary)
    assert f"{split}.base rows" in printed and f"{split}.test rows" in printed, printed


def _invited_settings() -> list:
    """(notebook, values) for every setting a notebook's metadata lists under ``lightgcn.invited``."""
    from utils.notebook import METADATA_KEY, notebook_paths, solution_paths

    settings = []
    for path in [*notebook_paths(), *solution_paths()]:
        for values in nbformat.read(path, as_version=4).metadata.get(METADATA_KEY, {}).get("invited", []):
            label = f"{path.stem}[{', '.join(f'{name}={value}' for name, value in values.items())}]"
            settings.append(pytest.param(path, values, id=label))
    return settings


@pytest.mark.parametrize(("path", "values"), _invited_settings())
def test_every_setting_the_text_invites_runs(path, values, tmp_path, monkeypatch):
    """The text or an exercise invites a reader to change a parameter: the notebook must run to the end
    with it (in its quick setting), and a sentence the new setting does not bear out prints a note
    (utils.notebook.expect) instead of stopping the notebook."""
    from utils.notebook import METADATA_KEY, override_parameters, parameters_cell

    monkeypatch.setenv("ML100K_DIR", str(_data_dir(tmp_path)))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "1")
    monkeypatch.setenv("LIGHTGCN_CHECK_CLAIMS", "0")
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    nb = nbformat.read(path, as_version=4)
    cell = parameters_cell(nb.cells)
    override_parameters(cell, nb.metadata.get(METADATA_KEY, {}).get("quick", {}), "the quick setting of make test")
    override_parameters(cell, values, "the setting the text invites")

    NotebookClient(nb, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}).execute()

    errors = [output for cell in nb.cells for output in cell.get("outputs", []) if output.get("output_type") == "error"]
    assert not errors
