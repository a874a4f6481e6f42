"""What a reader of a saved notebook sees on GitHub: finished progress bars, no paths of the machine that ran it."""

import json
import os
import re

import pytest

from utils.notebook import CLAIM_NOTE, notebook_paths, solution_paths

#: A tqdm bar as text: "desc:  37%|███▋      | 37/100".
PROGRESS_BAR = re.compile(r"(\d+)%\|[^|]*\|\s*(\d+)/(\d+)")
#: Absolute paths of a Linux, macOS or Windows machine, and temporary files.
MACHINE_PATH = re.compile(r"(/home/|/root/|/Users/|/tmp/|/work/|/private/var/|[A-Z]:\\\\Users)")


def _outputs(path):
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        for output in cell.get("outputs", []):
            yield index, output


def _texts(output):
    if "text" in output:
        yield "".join(output["text"])
    for mime, value in output.get("data", {}).items():
        if mime.startswith("text/"):
            yield "".join(value)


@pytest.mark.parametrize("path", notebook_paths() + solution_paths(), ids=lambda p: p.name)
def test_saved_outputs_show_finished_progress_bars_and_no_machine_paths(path):
    for index, output in _outputs(path):
        assert "application/vnd.jupyter.widget-view+json" not in output.get("data", {}), (
            f"{path.name}, cell {index}: a widget progress bar was saved (GitHub shows it at 0%); run with `make run`"
        )
        for text in _texts(output):
            for percent, done, total in PROGRESS_BAR.findall(text):
                assert percent == "100" and done == total, f"{path.name}, cell {index}: progress bar saved at {percent}%"
            assert not MACHINE_PATH.search(text), f"{path.name}, cell {index}: output shows a machine path: {MACHINE_PATH.search(text)[0]!r}"
            assert CLAIM_NOTE not in text, (f"{path.name}, cell {index}: the saved run contradicts a sentence of the text "
                                            f"({text.strip()[:200]}); fix the text or the code, then `make run`")
        assert output.get("output_type") != "error", f"{path.name}, cell {index}: saved with an error"


#: Words that mark prose as unfinished.
PLACEHOLDER = re.compile(r"\((to be written|TODO|TBD)\b|\bTODO:|\bFIXME\b", re.IGNORECASE)


@pytest.mark.parametrize("path", notebook_paths() + solution_paths(), ids=lambda p: p.name)
def test_saved_notebook_is_executed_in_order_and_finished(path):
    """A notebook on GitHub shows its results: every code cell ran, once, top to bottom, and no answer is a placeholder."""
    cells = json.loads(path.read_text())["cells"]
    counts = [cell.get("execution_count") for cell in cells if cell["cell_type"] == "code" and "".join(cell["source"]).strip()]
    assert None not in counts, f"{path.name}: {counts.count(None)} code cells were never executed; run `make run NOTEBOOKS={os.path.relpath(path)}`"
    assert counts == sorted(counts) and len(set(counts)) == len(counts), f"{path.name}: cells executed out of order ({counts}); re-run it top to bottom"
    for index, cell in enumerate(cells):
        if cell["cell_type"] == "markdown":
            found = PLACEHOLDER.search("".join(cell["source"]))
            assert not found, f"{path.name}, cell {index}: unfinished text {found[0]!r}"


@pytest.mark.parametrize("path", notebook_paths() + solution_paths(), ids=lambda p: p.name)
def test_every_cell_that_shows_a_figure_saved_its_image(path):
    """A run with MPLBACKEND=Agg (as a terminal sets it) saves no figure: a reader would see a blank
    where a plot belongs. `make run` leaves the backend to Jupyter, which saves each figure."""
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] == "code" and "plt.show()" in "".join(cell["source"]):
            images = [output for output in cell.get("outputs", []) if "image/png" in output.get("data", {})]
            assert images, f"{path.name}, cell {index}: calls plt.show() but saved no image; re-run it with `make run`"


@pytest.mark.parametrize("path", notebook_paths() + solution_paths(), ids=lambda p: p.name)
def test_every_figure_has_alt_text_and_a_caption(path):
    """The book (MyST-NB) gives a figure its cell's ``mystnb.image.alt`` and ``mystnb.figure.caption``:
    without them a screen reader hears a hash file name and the page shows no caption."""
    for index, cell in enumerate(json.loads(path.read_text())["cells"]):
        if cell["cell_type"] != "code" or not any("image/png" in output.get("data", {}) for output in cell.get("outputs", [])):
            continue
        options = cell["metadata"].get("mystnb", {})
        alt = options.get("image", {}).get("alt", "")
        caption = options.get("figure", {}).get("caption", "")
        assert len(alt.split()) >= 6, f"{path.name}, cell {index}: a figure needs metadata mystnb.image.alt saying what it shows"
        assert caption.strip(), f"{path.name}, cell {index}: a figure needs metadata mystnb.figure.caption"
