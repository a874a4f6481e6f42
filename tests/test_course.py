"""The course a teacher plans with: tracks, class time, reading length, and where they are written.

Each notebook names its track in its first cell; the README's notebook table, the book's sidebar and
the glossary are checked against the notebooks as saved, so none of them can fall behind a re-run.
"""

import json
import re
from pathlib import Path

import pytest

from utils.course import CORE_SECONDS_LIMIT, CORE_WORDS_LIMIT, TRACKS, facts, table_cells, track_of
from utils.notebook import ROOT, notebook_paths, setup_cell_index, solution_paths

NOTEBOOKS = notebook_paths()
README = (ROOT / "README.md").read_text(encoding="utf-8")
#: Code lines longer than this scroll sideways in the book's column.
MAX_CODE_LINE = 90


def _cells(path: Path) -> list[dict]:
    return json.loads(path.read_text(encoding="utf-8"))["cells"]


def test_every_notebook_names_its_track_and_the_numbering_follows_the_course():
    tracks = [track_of(_cells(path)) for path in NOTEBOOKS]
    order = [TRACKS.index(track) for track, _ in tracks]
    assert order == sorted(order), f"numbering must take the core track first, then systems, then research: {tracks}"
    lessons = [lesson for track, lesson in tracks if track == "core"]
    assert lessons == list(range(1, len(lessons) + 1)), f"core lessons must be numbered 1, 2, ...: {lessons}"
    for path in NOTEBOOKS:
        first = "".join(_cells(path)[0]["source"])
        if track_of(_cells(path))[0] == "core":
            assert f"of {len(lessons)}" in first, f"{path.name}: its track line must say 'of {len(lessons)}'"


def test_a_first_cell_without_a_track_line_is_refused():
    with pytest.raises(ValueError, match="must name its track"):
        track_of([{"cell_type": "markdown", "source": ["# 99 · A notebook\n", "Track: core\n"]}])
    assert track_of([{"cell_type": "markdown", "source": ["# x\n", "**Track:** systems (optional)\n"]}]) == ("systems", None)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_a_core_notebook_fits_class_time(path):
    notebook = facts(path)
    if notebook.track != "core":
        pytest.skip("optional notebooks have no class-time limit")
    assert notebook.run_seconds <= CORE_SECONDS_LIMIT, (
        f"{path.name}: its saved run took {notebook.run_seconds:.0f} s on the 2-core CPU, over {CORE_SECONDS_LIMIT} s")
    assert notebook.words <= CORE_WORDS_LIMIT, f"{path.name}: {notebook.words} words of prose, over {CORE_WORDS_LIMIT}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_introduction_says_how_long_the_notebook_runs(path):
    first = "".join(_cells(path)[0]["source"])
    found = re.search(r"[Rr]uns\s+in\s+(?:about\s+|under\s+|at\s+most\s+)?(\d+|an?)\s+(second|minute)", first)
    assert found, f"{path.name}: the first cell must say how long it runs ('Runs in about N minutes on a 2-core CPU')"
    stated = (int(found[1]) if found[1].isdigit() else 1) * (60 if found[2] == "minute" else 1)
    measured = facts(path).run_seconds
    assert measured / 2 - 60 <= stated <= 2 * measured + 60, (
        f"{path.name}: the introduction says {found[0]!r}, the saved run took {measured:.0f} s")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_the_readme_table_gives_the_notebooks_track_run_time_and_length(path):
    row = next((line for line in README.splitlines() if line.startswith("|") and f"notebooks/{path.name})" in line), None)
    assert row, f"README's notebook table has no row linking notebooks/{path.name}"
    for cell in table_cells(facts(path)):
        assert f"| {cell} |" in row, f"README's row for {path.name} should read {cell!r} (python -m utils.course): {row}"


def test_the_book_sidebar_lists_each_track_in_order():
    index = (ROOT / "book" / "index.md").read_text(encoding="utf-8")
    for track in TRACKS:
        members = [path.stem for path in NOTEBOOKS if track_of(_cells(path))[0] == track]
        block = re.search(rf":caption: [^\n]*\b{track}\b[^\n]*\n(.*?)```", index, re.S | re.I)
        assert block, f"book/index.md has no toctree captioned with the {track} track"
        listed = re.findall(r"^notebooks/(\S+)$", block[1], re.M)
        assert listed == members, f"the book's {track} track lists {listed}, the notebooks say {members}"


@pytest.mark.parametrize("path", NOTEBOOKS + solution_paths(), ids=lambda p: p.name)
def test_code_lines_fit_the_books_column(path):
    cells = _cells(path)
    setup = setup_cell_index(cells)
    long_lines = [(index, line) for index, cell in enumerate(cells) if cell["cell_type"] == "code" and index != setup
                  for line in "".join(cell["source"]).splitlines() if len(line) > MAX_CODE_LINE]
    assert not long_lines, (f"{path.name}: {len(long_lines)} code lines over {MAX_CODE_LINE} characters, "
                            f"the first in cell {long_lines[0][0] if long_lines else ''}: {long_lines[0][1] if long_lines else ''!r}")


GLOSSARY = ROOT / "notebooks" / "glossary.md"
#: Words and symbols the issue found used before they were explained: the glossary must hold each.
GLOSSARY_TERMS = ["host sync", "kernel launch", "all-reduce", "NCCL", "gloo", "ideal low-pass", "Euler step", "boosting",
                  "$R$", r"$\tilde A$", r"$\hat A$", "$E^{(k)}$", r"$\alpha_k$", r"$\tilde P$", "BPR", "Recall@K", "NDCG@K"]


def test_the_glossary_explains_the_words_and_symbols_of_the_series():
    text = GLOSSARY.read_text(encoding="utf-8")
    missing = [term for term in GLOSSARY_TERMS if term.lower() not in text.lower()]
    assert not missing, f"notebooks/glossary.md does not explain {missing}"
    assert "notebooks/glossary" in (ROOT / "book" / "index.md").read_text(encoding="utf-8"), "the book must list the glossary"
    assert "notebooks/glossary.md" in README, "the README must link the glossary"
