"""The notebooks' shared parts: one repository address, one setup cell."""

import json
import os
import re
import subprocess
import sys

import pytest

from utils.notebook import REPO_URL, ROOT, SETUP_CELL, colab_badge, notebook_paths, setup_cell_index, solution_paths

#: Numbered notebooks whose exercises have no answer key yet; remove one when its key is written.
ANSWER_KEYS_PENDING: set[str] = set()


def test_every_notebook_has_the_setup_cell_and_badge_written_from_one_address():
    paths = notebook_paths()
    assert [path.name[:2] for path in paths] == [f"{n:02d}" for n in range(1, len(paths) + 1)]
    for path in paths:
        cells = json.loads(path.read_text())["cells"]
        setup = "".join(cells[setup_cell_index(cells)]["source"])
        assert setup == SETUP_CELL, f"{path.name}: run `python -m utils.notebook` to rewrite its setup cell"
        assert len(setup.splitlines()) <= 3
        assert colab_badge(path.name) in "".join(cells[0]["source"]), f"{path.name}: run `python -m utils.notebook`"
        # The address appears only where it was written from REPO_URL: the badge and the setup cell.
        assert path.read_text().count(REPO_URL.removeprefix("https://github.com/")) == 2, path.name


@pytest.mark.parametrize("folder", ["notebooks", "notebooks/solutions"])
def test_the_setup_cell_finds_utils_from_a_notebooks_folder(folder):
    """A kernel started in the notebook's folder, with nothing on its path (no PYTHONPATH, no
    installed package), imports this repository's utils/ after the setup cell."""
    environment = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    script = SETUP_CELL + "\nimport utils, pathlib; print(pathlib.Path(utils.__file__).resolve().parent.parent)"
    result = subprocess.run([sys.executable, "-c", script], cwd=ROOT / folder, env=environment,  # noqa: S603
                            capture_output=True, text=True, timeout=120, check=True)
    assert result.stdout.strip().splitlines()[-1] == str(ROOT)


def _markdown(path) -> str:
    return "\n".join(
        "".join(cell["source"]) for cell in json.loads(path.read_text())["cells"] if cell["cell_type"] == "markdown"
    )


def _exercise_numbers(path) -> list[int]:
    """The numbers of the exercises listed after a notebook's "## Exercises" heading."""
    text = _markdown(path)
    if "## Exercises" not in text:
        return []
    return [
        int(number) for number in re.findall(r"^(\d+)\. \*\*", text.split("## Exercises", 1)[1], flags=re.MULTILINE)
    ]


def test_every_notebook_with_exercises_has_an_answer_key_with_one_section_per_exercise():
    keys = {path.name[:2]: path for path in solution_paths()}
    assert len(keys) == len(solution_paths()), "one answer key per numbered notebook, named NN_..._solutions.ipynb"
    numbered = {path.name[:2]: path for path in notebook_paths()}
    assert set(keys) <= set(numbered), f"answer keys without a notebook: {sorted(set(keys) - set(numbered))}"
    assert not set(keys) & ANSWER_KEYS_PENDING, "an answer key exists now: remove it from ANSWER_KEYS_PENDING"
    for number, path in numbered.items():
        exercises = _exercise_numbers(path)
        if not exercises or number in ANSWER_KEYS_PENDING:
            continue
        assert exercises == list(range(1, len(exercises) + 1)), f"{path.name}: exercises numbered 1, 2, ..."
        assert number in keys, f"{path.name} has exercises: write notebooks/solutions/{path.stem}_solutions.ipynb"
        key = keys[number]
        assert key.name == f"{path.stem}_solutions.ipynb", key.name
        sections = [int(n) for n in re.findall(r"^## Exercise (\d+)\b", _markdown(key), flags=re.MULTILINE)]
        assert sections == exercises, f"{key.name}: one '## Exercise N' section per exercise of {path.name}"
        assert f"](../{path.name})" in _markdown(key), f"{key.name}: its title cell links back to {path.name}"


def test_every_answer_key_has_the_setup_cell_and_a_parameters_cell():
    for path in solution_paths():
        cells = json.loads(path.read_text())["cells"]
        assert "".join(cells[setup_cell_index(cells)]["source"]) == SETUP_CELL, (
            f"{path.name}: run `python -m utils.notebook`"
        )
        assert "".join(cells[0]["source"]).startswith("# Answer key · "), path.name
        # No Colab badge (keys are for teachers): the address appears in the setup cell only.
        assert path.read_text().count(REPO_URL.removeprefix("https://github.com/")) == 1, path.name
        parameters = [cell for cell in cells if "parameters" in cell["metadata"].get("tags", [])]
        assert len(parameters) == 1 and "DATA_DIR = None" in "".join(parameters[0]["source"]), path.name
