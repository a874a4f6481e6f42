"""The course as a teacher plans it: each notebook's track, saved run time and reading length.

Every notebook names its track in its first cell (``**Track:** core · lesson 3 of 7``, or
``**Track:** systems (optional)``); the README's notebook table and the book's sidebar are checked
against those lines by ``tests/test_course.py``, and the table's run times and lengths against the
saved notebooks. ``python -m utils.course`` prints the table's rows from the saved notebooks.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from utils.notebook import notebook_paths

#: The tracks, in the order a class takes them.
TRACKS = ("core", "systems", "research")
#: Class time: a core notebook runs in at most this long on the 2-core CPU, and reads in one lab.
CORE_SECONDS_LIMIT = 600
CORE_WORDS_LIMIT = 3000
#: Reading speed used for the table's "reads in" column (words a minute, study pace with code).
WORDS_PER_MINUTE = 100

_TRACK_LINE = re.compile(r"^\*\*Track:\*\* (core · lesson (\d+) of (\d+)|systems \(optional\)|research \(optional\))\s*$",
                         re.MULTILINE)


@dataclass(frozen=True)
class NotebookFacts:
    """What the README's table says about one saved notebook."""

    path: Path
    track: str
    lesson: int | None  #: its place in the core track; None for an optional notebook
    run_seconds: float  #: the saved run's cell times, summed
    words: int  #: the words of its Markdown cells

    @property
    def reading_minutes(self) -> int:
        return max(5, 5 * round(self.words / WORDS_PER_MINUTE / 5))


def track_of(cells: list[dict]) -> tuple[str, int | None]:
    """The track the first cell names, and the lesson number in the core track."""
    first = "".join(cells[0]["source"])
    found = _TRACK_LINE.search(first)
    if found is None:
        raise ValueError("the notebook's first cell must name its track on a line of its own: "
                         "'**Track:** core · lesson N of M', '**Track:** systems (optional)' or "
                         "'**Track:** research (optional)'")
    if found[2] is not None:
        return "core", int(found[2])
    return found[1].split()[0], None


def run_seconds(cells: list[dict]) -> float:
    """The saved run's time: each code cell's execute_input to execute_reply, summed (what the
    reader waits for, without the kernel's start)."""
    total = 0.0
    for cell in cells:
        timing = cell.get("metadata", {}).get("execution", {})
        if cell["cell_type"] == "code" and "iopub.execute_input" in timing and "shell.execute_reply" in timing:
            start = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
            end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
            total += (end - start).total_seconds()
    return total


def prose_words(cells: list[dict]) -> int:
    """Words of the Markdown cells (formulas count as the words they are written with)."""
    return sum(len("".join(cell["source"]).split()) for cell in cells if cell["cell_type"] == "markdown")


def facts(path: Path) -> NotebookFacts:
    cells = json.loads(Path(path).read_text(encoding="utf-8"))["cells"]
    track, lesson = track_of(cells)
    return NotebookFacts(Path(path), track, lesson, run_seconds(cells), prose_words(cells))


def format_run_time(seconds: float) -> str:
    """As the README's table writes it: whole seconds under two minutes, else minutes to one decimal."""
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.1f} min"


def table_cells(notebook: NotebookFacts) -> tuple[str, str, str]:
    """The table's track, run-time and reading columns for one notebook."""
    track = f"core {notebook.lesson}" if notebook.track == "core" else f"{notebook.track} (optional)"
    reading = f"{notebook.words:,} words (~{notebook.reading_minutes} min)"
    return track, format_run_time(notebook.run_seconds), reading


def main() -> None:
    """``python -m utils.course``: each notebook's track, saved run time and reading length."""
    for path in notebook_paths():
        notebook = facts(path)
        print(path.name, "|", " | ".join(table_cells(notebook)))


if __name__ == "__main__":
    main()
