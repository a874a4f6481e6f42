"""Helpers the notebooks share: their setup, the repository address, and showing the real code they run.

The repository address lives here only: every notebook's "Open in Colab" badge and setup cell are
written from :data:`REPO_URL` by ``python -m utils.notebook`` (and a test checks that they agree).
"""

from __future__ import annotations

import inspect
import json
import re
import subprocess
import sys
from pathlib import Path

#: The series' repository.
REPO_URL = "https://github.com/lightgcn-movies/lightgcn-movie-recommendations"
REPO_NAME = REPO_URL.rstrip("/").rsplit("/", 1)[1]
ROOT = Path(__file__).resolve().parent.parent

#: The first code cell of every notebook: fetch the series on Colab, put it on the path, set up.
SETUP_CELL = f"""# Setup: on Colab, fetch the series; anywhere, find utils/ and get ready (utils/notebook.py).
import pathlib, subprocess, sys
if "google.colab" in sys.modules and not pathlib.Path("{REPO_NAME}").exists():
    subprocess.run(["git", "clone", "--depth", "1", "{REPO_URL}"], check=True)
sys.path[:0] = [str(p) for p in (pathlib.Path.cwd(), *pathlib.Path.cwd().parents, pathlib.Path("{REPO_NAME}").resolve()) if (p / "utils" / "notebook.py").is_file()][:1]
from utils.notebook import setup; setup()"""

_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def colab_badge(notebook: str) -> str:
    """The Markdown of the "Open in Colab" badge of ``notebook`` (its file name)."""
    path = REPO_URL.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook})")  # fmt: skip


def setup() -> None:
    """What the setup cell does once ``utils`` is importable.

    On Colab: install the pinned versions of everything the series needs except torch (Colab's
    CUDA build stays), and say how to get a GPU when the runtime has none. Elsewhere: nothing, the
    environment of ``make lab`` already has them.
    """
    if "google.colab" not in sys.modules:
        return
    requirements = [line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
                    if line.strip() and not line.startswith("#") and not line.startswith("torch==")]  # fmt: skip
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements], check=True)  # noqa: S603 (pinned requirements)
    import torch

    if not torch.cuda.is_available():
        print("This Colab runtime has no GPU: notebooks 04 and 06 then train for several minutes on its CPU. "
              "For a GPU: Runtime > Change runtime type > T4 GPU, then run the notebook again.")  # fmt: skip


def show_source(*objects) -> None:
    """Display the source of functions or classes from ``utils``, syntax-highlighted.

    The notebooks explain the code they run by showing it from the module, so the text a reader
    sees is always the code that executes: there is no second copy that can drift.
    """
    from IPython.display import Code, display

    for obj in objects:
        display(Code(inspect.getsource(obj), language="python"))


def notebook_paths() -> list[Path]:
    """The numbered notebooks of the series, in order."""
    return sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def solution_paths() -> list[Path]:
    """The teachers' answer keys (``notebooks/solutions/``), in order. They have no Colab badge."""
    return sorted((ROOT / "notebooks" / "solutions").glob("*.ipynb"))


def setup_cell_index(cells: list[dict]) -> int:
    """Index of the setup cell: the first code cell."""
    return next(index for index, cell in enumerate(cells) if cell["cell_type"] == "code")


def sync_notebook(path: Path) -> bool:
    """Write :data:`SETUP_CELL` and the badge (if it has one) into the notebook at ``path``; True if it changed."""
    text = path.read_text()
    notebook = json.loads(text)
    cells = notebook["cells"]
    setup_cell = cells[setup_cell_index(cells)]
    setup_cell["source"] = SETUP_CELL.splitlines(keepends=True)
    title = cells[0]
    title["source"] = _BADGE.sub(lambda _: colab_badge(path.name), "".join(title["source"])).splitlines(keepends=True)
    new_text = json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"
    if new_text != text:
        path.write_text(new_text)
    return new_text != text


def main() -> None:
    """``python -m utils.notebook``: write the setup cell and badge of every notebook (answer keys
    included) from REPO_URL."""
    for path in [*notebook_paths(), *solution_paths()]:
        print(f"{path.relative_to(ROOT / 'notebooks')}: {'updated' if sync_notebook(path) else 'up to date'}")


if __name__ == "__main__":
    main()
