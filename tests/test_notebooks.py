"""The notebooks' shared parts: one repository address, one setup cell."""

import json
import sys

from utils.notebook import REPO_URL, ROOT, SETUP_CELL, colab_badge, notebook_paths, setup_cell_index


def test_every_notebook_has_the_setup_cell_and_badge_written_from_one_address():
    paths = notebook_paths()
    assert [path.name[:2] for path in paths] == [f"{n:02d}" for n in range(1, len(paths) + 1)]
    for path in paths:
        cells = json.loads(path.read_text())["cells"]
        setup = "".join(cells[setup_cell_index(cells)]["source"])
        assert setup == SETUP_CELL, f"{path.name}: run `python -m utils.notebook` to rewrite its setup cell"
        assert len(setup.splitlines()) <= 6
        assert colab_badge(path.name) in "".join(cells[0]["source"]), f"{path.name}: run `python -m utils.notebook`"
        # The address appears only where it was written from REPO_URL: the badge and the setup cell.
        assert path.read_text().count(REPO_URL.removeprefix("https://github.com/")) == 2, path.name


def test_the_setup_cell_finds_utils_from_the_notebooks_folder(monkeypatch):
    monkeypatch.chdir(ROOT / "notebooks")
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p not in (str(ROOT), "")])
    exec(SETUP_CELL, {})  # noqa: S102 (the notebooks' own setup cell)
    assert sys.path[0] == str(ROOT)
