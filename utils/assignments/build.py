"""Otter-grader assignments from the notebooks' graded questions (``make assignments``).

The notebooks in the repository stay complete: each graded question is marked in cell metadata
(:mod:`utils.assignments`). From a notebook this module writes an otter master notebook (the same
cells, with otter's ``# BEGIN QUESTION`` … ``# END QUESTION`` raw cells around each question and
its solution's body marked ``# BEGIN SOLUTION``), then runs ``otter assign`` on it. Every code cell
that is not a question is tagged ``otter_ignore``: the autograder runs only the setup cell, the
imports the questions may use, the student's answers and the tests, so grading needs neither the
dataset nor the minutes of training.

Into ``dist/`` (ignored by git) it writes, per notebook:

- ``student/NN_name/``: the student notebook (bodies ``...``, outputs cleared, a ``grader.check``
  cell after each question), its public tests and a copy of ``utils/``;
- ``autograder/NN_name-autograder.zip``: the Gradescope autograder (public and hidden tests);
- ``solutions/NN_name/``: the notebook with the solutions, as otter writes it;
- ``masters/NN_name/``: the generated master, for a teacher who wants to edit it with otter.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat

from utils.notebook import METADATA_KEY, ROOT, notebook_paths, setup_cell_index

#: What a question's answer may use: the autograder runs this cell, not the notebook's imports.
GRADING_IMPORTS = """\
# The graded questions may use these (the autograder runs this cell, the first one and your answers).
import numpy as np
import pandas as pd
import torch

from utils import data, graph
from utils.assignments import checks"""

SUBMIT_INSTRUCTIONS = ("Run the cell below after the last question: it checks every question and "
                       "writes a zip of this notebook to submit (Gradescope, or as your teacher says).")  # fmt: skip


def role(cell: dict) -> dict:
    """The graded-question metadata of a cell (``{}`` for an ordinary cell)."""
    return cell.get("metadata", {}).get(METADATA_KEY, {})


def questions(notebook: dict) -> list[dict]:
    """The graded questions of a notebook, in order: ``{"name", "points", "prompt", "solution",
    "tests": [(visibility, source)]}``, each found from the prompt cell on."""
    cells = notebook["cells"]
    found = []
    for index, cell in enumerate(cells):
        config = role(cell).get("question")
        if not config:
            continue
        following = cells[index + 1 :]
        if not following or not role(following[0]).get("solution"):
            raise ValueError(f"question {config['name']!r}: the cell after its prompt must be its solution.")
        tests = []
        for test in following[1:]:
            visibility = role(test).get("test")
            if not visibility:
                break
            tests.append((visibility, "".join(test["source"])))
        if not any(visibility == "public" for visibility, _ in tests):
            raise ValueError(f"question {config['name']!r} needs a public test cell after its solution.")
        found.append({**config, "prompt": index, "solution": index + 1, "tests": tests})
    return found


def graded_notebooks() -> list[Path]:
    """The numbered notebooks that hold graded questions, in order."""
    return [path for path in notebook_paths() if questions(json.loads(path.read_text()))]


def mark_solution(source: str) -> str:
    """The solution cell with otter's ``# BEGIN SOLUTION`` / ``# END SOLUTION`` around the body of
    each function it defines (after the docstring): the student keeps signature and docstring."""
    lines = source.splitlines()
    blocks = []
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef):
            body = node.body[1:] if ast.get_docstring(node) else node.body
            if body:
                indent = " " * body[0].col_offset
                blocks.append((body[0].lineno - 1, node.end_lineno, indent))
    for start, end, indent in reversed(blocks):
        lines[start:end] = [f"{indent}# BEGIN SOLUTION", *lines[start:end], f"{indent}# END SOLUTION"]
    return "\n".join(lines)


def blank_solution(source: str) -> str:
    """The solution cell as the student gets it: each function's body after its docstring is ``...``."""
    out, inside = [], False
    for line in mark_solution(source).splitlines():
        if line.strip() == "# BEGIN SOLUTION":
            inside = True
            out.append(line.replace("# BEGIN SOLUTION", "..."))
        elif line.strip() == "# END SOLUTION":
            inside = False
        elif not inside:
            out.append(line)
    return "\n".join(out)


def _raw(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_raw_cell(text)


def _ignored(cell: dict) -> dict:
    cell = copy.deepcopy(cell)
    tags = cell.setdefault("metadata", {}).setdefault("tags", [])
    if "otter_ignore" not in tags:
        tags.append("otter_ignore")
    return cell


def master_notebook(path: Path) -> nbformat.NotebookNode:
    """The otter master of a repository notebook (outputs cleared; see the module docstring)."""
    notebook = nbformat.read(path, as_version=4)
    found = {question["prompt"]: question for question in questions(notebook)}
    if not found:
        raise ValueError(f"{path.name} has no graded question.")
    config = {
        "name": path.stem,
        "requirements": "requirements.txt",
        "files": ["utils"],
        "runs_on": "colab",  # otter.Notebook() finds the notebook itself; Colab needs no path
        "init_cell": True,
        "check_all_cell": True,
        "export_cell": {"pdf": False, "instructions": SUBMIT_INSTRUCTIONS},
        "generate": {"pdf": False, "show_stdout": True},
        "solutions_pdf": False,
        "template_pdf": False,
        "run_tests": True,
        "tests": {"files": True},
    }
    setup_index = setup_cell_index(notebook["cells"])
    cells = [_raw("# ASSIGNMENT CONFIG\n" + json.dumps(config, indent=2))]
    skip = set()
    for index, cell in enumerate(notebook["cells"]):
        if index in skip:  # a question's solution and tests, already placed with its prompt
            continue
        cell = copy.deepcopy(cell)
        if cell["cell_type"] == "code":
            cell["outputs"], cell["execution_count"] = [], None
        if index == setup_index:
            cells += [cell, nbformat.v4.new_code_cell(GRADING_IMPORTS)]
        elif index in found:
            question = found[index]
            points = question.get("points", 1)
            cells += [_raw(f"# BEGIN QUESTION\nname: {question['name']}\npoints: {points}"), cell,
                      _raw("# BEGIN SOLUTION")]
            solution = copy.deepcopy(notebook["cells"][question["solution"]])
            solution["source"] = mark_solution("".join(solution["source"]))
            solution["outputs"], solution["execution_count"] = [], None
            cells += [solution, _raw("# END SOLUTION"), _raw("# BEGIN TESTS")]
            for visibility, source in question["tests"]:
                cells.append(nbformat.v4.new_code_cell(("# HIDDEN\n" if visibility == "hidden" else "") + source))
            cells += [_raw("# END TESTS"), _raw("# END QUESTION")]
            skip |= set(range(question["solution"], question["solution"] + 1 + len(question["tests"])))
        elif cell["cell_type"] == "code":
            cells.append(_ignored(cell))
        else:
            cells.append(cell)
    return nbformat.v4.new_notebook(cells=cells, metadata=copy.deepcopy(notebook["metadata"]))


def _student_setup(notebook: dict, name: str) -> None:
    """The student notebook's first cells: the series' setup cell, told which assignment it is (on
    Colab it then installs otter-grader and writes the public tests), then otter's init cell.
    otter's own ``%pip install`` cell (unpinned, and run locally too) is dropped."""
    cells = notebook["cells"]
    cells[:] = [cell for cell in cells if "".join(cell["source"]).strip() != "%pip install -q otter-grader"]
    init = next(i for i, cell in enumerate(cells) if "otter.Notebook(" in "".join(cell["source"]))
    init_cell = cells.pop(init)
    setup = setup_cell_index(cells)
    source = "".join(cells[setup]["source"]).replace("setup()", f'setup(assignment="{name}")')
    cells[setup]["source"] = source.replace("installs the series' pinned packages", "installs the pinned packages and otter")
    cells.insert(setup + 1, init_cell)


def build(out: Path, paths: list[Path] | None = None, quiet: bool = True) -> list[Path]:
    """Write the assignments of ``paths`` (default: every notebook with graded questions) into ``out``."""
    out = Path(out).resolve()  # otter runs in the master's folder: a relative ``out`` would point elsewhere
    if paths is None:
        paths = graded_notebooks()
    written = []
    for path in paths:
        name = path.stem
        master_dir = out / "masters" / name
        shutil.rmtree(master_dir, ignore_errors=True)
        master_dir.mkdir(parents=True)
        nbformat.write(master_notebook(path), master_dir / f"{name}.ipynb")
        shutil.copytree(ROOT / "utils", master_dir / "utils", ignore=shutil.ignore_patterns("__pycache__"))
        shutil.copy(ROOT / "requirements.txt", master_dir / "requirements.txt")
        with tempfile.TemporaryDirectory() as result:
            result = Path(result)
            command = [sys.executable, "-m", "otter", "assign", str(master_dir / f"{name}.ipynb"), str(result)]
            run = subprocess.run(command, capture_output=True, text=True, cwd=master_dir)  # noqa: S603 (our own command)
            if run.returncode:
                raise RuntimeError(f"otter assign failed on {name}:\n{run.stdout}\n{run.stderr}")
            if not quiet:
                print(run.stdout.strip())
            student = nbformat.read(result / "student" / f"{name}.ipynb", as_version=4)
            _student_setup(student, name)
            nbformat.write(student, result / "student" / f"{name}.ipynb")
            for kind, written_as in (("student", "student"), ("solutions", "autograder")):
                target = out / kind / name
                shutil.rmtree(target, ignore_errors=True)
                shutil.copytree(result / written_as, target, ignore=shutil.ignore_patterns("*.zip", "__pycache__"))
            (out / "autograder").mkdir(exist_ok=True)
            zip_path = next((result / "autograder").glob("*.zip"))
            shutil.copy(zip_path, out / "autograder" / f"{name}-autograder.zip")
        written.append(out / "student" / name / f"{name}.ipynb")
    return written


def write_student_tests(name: str, tests_dir: Path) -> None:
    """The public tests of notebook ``name`` into ``tests_dir`` (on Colab, where the student notebook
    arrives alone: :func:`utils.notebook.setup` calls this)."""
    path = next(path for path in notebook_paths() if path.stem == name)
    with tempfile.TemporaryDirectory() as out:
        build(Path(out), [path])
        shutil.copytree(Path(out) / "student" / name / "tests", tests_dir, dirs_exist_ok=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "dist", help="the folder to write (default: dist/)")
    parser.add_argument("notebooks", nargs="*", help="notebook names such as 02_bipartite_graph (default: all with questions)")
    args = parser.parse_args(argv)
    paths = None
    if args.notebooks:
        by_name = {path.stem: path for path in notebook_paths()}
        unknown = [name for name in args.notebooks if name not in by_name]
        if unknown:
            parser.error(f"no notebook named {', '.join(unknown)}; the notebooks are {', '.join(by_name)}")
        paths = [by_name[name] for name in args.notebooks]
    for student in build(args.out, paths, quiet=False):
        print(f"wrote {student.parent}")
    print(f"student notebooks in {args.out / 'student'}, autograder zips in {args.out / 'autograder'}, "
          f"solutions in {args.out / 'solutions'}")


if __name__ == "__main__":
    main()
