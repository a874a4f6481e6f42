"""The graded questions and ``make assignments``: the checks can fail, and the assignments otter
writes from the notebooks work.

- (a) every solution passes every public and hidden test, graded by ``otter run`` with the
  Gradescope autograder zip, as Gradescope grades a submission;
- (b) every student notebook runs top to bottom with its blanks left (quick setting, synthetic or
  real data), and each ``grader.check`` cell reports a failure instead of crashing the notebook;
- (c) every plausible wrong answer of ``tests/assignment_wrong_answers.py`` fails its question's
  tests (public and hidden, read from the autograder's own test files), with the words that name the
  mistake.
"""

import csv
import json
import os
import re
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from otter.test_files import OKTestFile

from tests.assignment_wrong_answers import WRONG_ANSWERS
from utils import course
from utils.assignments import build, checks, grade
from utils.notebook import METADATA_KEY, ROOT, notebook_paths, override_parameters, parameters_cell

GRADED = build.graded_notebooks()
QUESTIONS = {question["name"]: path.stem for path in GRADED for question in build.questions(json.loads(path.read_text()))}


@pytest.fixture(scope="session")
def assignments(tmp_path_factory) -> Path:
    """``make assignments``, into a temporary folder; the files it reads (the notebooks, ``utils/``)
    are unchanged afterwards, untracked files included."""
    status = ["git", "status", "--porcelain", "--untracked-files=all", "--", "notebooks", "utils"]
    before = subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout  # noqa: S603
    out = tmp_path_factory.mktemp("dist")
    build.build(out)
    after = subprocess.run(status, cwd=ROOT, capture_output=True, text=True).stdout  # noqa: S603
    assert before == after, "building the assignments changed the repository's files"
    return out


def test_the_core_track_has_at_least_ten_graded_questions_each_with_prompt_hint_and_tests():
    assert len(QUESTIONS) >= 10
    assert set(QUESTIONS) == set(checks.QUESTIONS), "every check has its question, and every question its check"
    assert set(QUESTIONS) == set(WRONG_ANSWERS), "every question has wrong answers in tests/"
    for path in GRADED:
        cells = json.loads(path.read_text())["cells"]
        assert course.track_of(cells)[0] == "core", f"{path.name}: graded questions belong to the core track"
        for question in build.questions(json.loads(path.read_text())):
            name = question["name"]
            prompt = "".join(cells[question["prompt"]]["source"])
            assert f"`{name}(" in prompt and "*Hint:*" in prompt, f"{name}: the prompt names the function and gives a hint"
            solution = "".join(cells[question["solution"]]["source"])
            assert f"def {name}(" in solution, f"{name}: the solution cell defines {name}"
            used = checks.names_used(compile(solution, name, "exec"))
            assert not used & set(checks.LIBRARY_VERSIONS[name]), f"{name}: the solution uses the library's version"
            assert question["tests"] == [("public", f"checks.{name}({name})"), ("hidden", f"checks.{name}({name}, hidden=True)")]


def test_mark_solution_blanks_each_function_body_after_its_docstring():
    source = 'def f(x):\n    """Doc."""\n    y = x + 1\n    return y\n\n\nprint(f(1))'
    assert build.mark_solution(source).splitlines() == [
        "def f(x):", '    """Doc."""', "    # BEGIN SOLUTION", "    y = x + 1", "    return y", "    # END SOLUTION", "", "", "print(f(1))"]


def test_make_assignments_writes_student_notebooks_autograders_and_solutions(assignments):
    for path in GRADED:
        name = path.stem
        student = nbformat.read(assignments / "student" / name / f"{name}.ipynb", as_version=4)
        sources = [cell.source for cell in student.cells]
        assert all(not cell.get("outputs") for cell in student.cells if cell.cell_type == "code"), "outputs cleared"
        assert f'setup(assignment="{name}")' in sources[1] and "otter.Notebook()" in sources[2], "setup, then otter"
        public = {file.stem: OKTestFile.from_file(str(file)) for file in (assignments / "student" / name / "tests").glob("*.py")}
        with zipfile.ZipFile(assignments / "autograder" / f"{name}-autograder.zip") as autograder:
            hidden = [entry for entry in autograder.namelist() if entry.startswith("tests/")]
            assert any("'hidden': True" in autograder.read(entry).decode() for entry in hidden)
        for question in build.questions(json.loads(path.read_text())):
            qname = question["name"]
            assert f'grader.check("{qname}")' in sources, f"{name}: a check cell for {qname}"
            answer = next(source for source in sources if source.startswith(f"def {qname}("))
            assert answer.rstrip().endswith('"""\n    ...') and "return " not in answer, f"{qname}: the student gets the signature, the docstring and ..."
            assert all(not case.hidden for case in public[qname].test_cases), f"{qname}: no hidden test reaches the student"
        assert (assignments / "solutions" / name / f"{name}.ipynb").exists()


def _otter_run(autograder: Path, notebook: Path, folder: Path) -> dict:
    folder.mkdir()
    shutil.copy(notebook, folder / "submission.ipynb")
    command = [sys.executable, "-m", "otter", "run", "-a", str(autograder), "-o", str(folder), "submission.ipynb"]
    run = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=600)  # noqa: S603 (our own command)
    assert run.returncode == 0, run.stdout + run.stderr
    return json.loads((folder / "results.json").read_text())


@pytest.mark.parametrize("name", [path.stem for path in GRADED])
def test_a_the_solutions_pass_every_public_and_hidden_test_as_gradescope_grades_them(name, assignments, tmp_path):
    results = _otter_run(assignments / "autograder" / f"{name}-autograder.zip",
                         assignments / "solutions" / name / f"{name}.ipynb", tmp_path / "graded")  # fmt: skip
    scored = [test for test in results["tests"] if "max_score" in test]
    assert scored and all(test["score"] == test["max_score"] > 0 for test in scored), scored


def _quick(notebook, name: str) -> None:
    repository = nbformat.read(ROOT / "notebooks" / f"{name}.ipynb", as_version=4)
    quick = repository.metadata.get(METADATA_KEY, {}).get("quick")
    if quick and os.environ.get("LIGHTGCN_QUICK", "1") != "0":
        override_parameters(parameters_cell(notebook.cells), quick, "the quick setting of make test")


@pytest.mark.parametrize("name", [path.stem for path in GRADED])
def test_b_a_student_notebook_runs_with_its_blanks_and_each_check_reports_the_failure(name, assignments, tmp_path, monkeypatch):
    folder = tmp_path / name
    shutil.copytree(assignments / "student" / name, folder)
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.delenv("LIGHTGCN_CHECK_CLAIMS", raising=False)
    notebook = nbformat.read(folder / f"{name}.ipynb", as_version=4)
    _quick(notebook, name)
    # Raises CellExecutionError, naming the cell, if any cell fails.
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    for cell in notebook.cells:
        if cell.cell_type == "code" and cell.source.startswith("grader.check("):
            shown = "".join(output.get("text", "") + str(output.get("data", {}).get("text/plain", "")) for output in cell.outputs)
            assert "❌" in shown and "its body is still blank" in shown, f"{cell.source}: {shown[:500]}"
    assert not any(output.get("output_type") == "error" for cell in notebook.cells for output in cell.get("outputs", []))
    nbformat.write(notebook, folder / f"{name}.ipynb")
    results = _otter_run(assignments / "autograder" / f"{name}-autograder.zip", folder / f"{name}.ipynb", tmp_path / "graded")
    assert all(test["score"] == 0 for test in results["tests"] if "max_score" in test), "blanks score nothing"


@pytest.mark.parametrize(("question", "wrong", "words"), [(question, wrong, words) for question, answers in WRONG_ANSWERS.items()
                                                          for wrong, words in answers],  # fmt: skip
                         ids=[wrong.__name__ for answers in WRONG_ANSWERS.values() for wrong, _ in answers])
def test_c_a_plausible_wrong_answer_fails_its_tests_and_is_named(question, wrong, words, assignments):
    tests = OKTestFile.from_file(str(assignments / "solutions" / QUESTIONS[question] / "tests" / f"{question}.py"))
    assert any(case.hidden for case in tests.test_cases) and any(not case.hidden for case in tests.test_cases)
    # The wrong function under the question's name, as a student's is named (its source stays its own).
    answer = types.FunctionType(wrong.__code__, wrong.__globals__, question, wrong.__defaults__, wrong.__closure__)
    tests.run({question: answer, "checks": checks})
    assert not tests.passed_all, f"{wrong.__name__} passed the tests of {question}"
    messages = "".join(result.message for result in tests.test_case_results)
    assert words in messages, messages


def test_c_the_solutions_pass_the_same_test_files(assignments):
    for question, stem in QUESTIONS.items():
        notebook = json.loads((ROOT / "notebooks" / f"{stem}.ipynb").read_text())
        solution = next(q for q in build.questions(notebook) if q["name"] == question)["solution"]
        env = {}
        exec(build.GRADING_IMPORTS + "\n" + "".join(notebook["cells"][solution]["source"]), env)  # noqa: S102 (our own notebook)
        tests = OKTestFile.from_file(str(assignments / "solutions" / stem / "tests" / f"{question}.py"))
        tests.run(env)
        assert tests.passed_all, question


def test_a_class_is_graded_into_one_csv_row_per_submission(assignments, tmp_path):
    name = "02_bipartite_graph"
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    shutil.copy(assignments / "solutions" / name / f"{name}.ipynb", submissions / "right.ipynb")
    shutil.copy(assignments / "student" / name / f"{name}.ipynb", submissions / "blank.ipynb")
    (submissions / "broken.zip").write_text("not a zip")
    grades = tmp_path / "grades.csv"
    grade.main([str(assignments / "autograder" / f"{name}-autograder.zip"), str(submissions), "--csv", str(grades)])
    rows = {row["submission"]: row for row in csv.DictReader(grades.open())}
    assert float(rows["right.ipynb"]["score"]) == float(rows["right.ipynb"]["possible"]) == 2.0
    assert float(rows["blank.ipynb"]["score"]) == 0.0 and not rows["blank.ipynb"]["error"]
    assert rows["broken.zip"]["score"] == "" and "zip" in rows["broken.zip"]["error"]


def test_the_teachers_page_lists_each_notebooks_graded_questions_and_counts_the_wrong_answers():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## For teachers", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[2].strip()[:2]: line.split("|")[3] for line in section.splitlines()
            if line.startswith("| ") and line.split("|")[2].strip()[:2].isdigit()}  # fmt: skip
    for path in notebook_paths():
        if path.stem[:2] not in rows:
            continue
        listed = {name for name in re.findall(r"`(\w+)`", rows[path.stem[:2]]) if name in checks.QUESTIONS}
        assert listed == {q["name"] for q in build.questions(json.loads(path.read_text()))}, path.stem
    assert {stem[:2] for stem in QUESTIONS.values()} <= set(rows)
    count = sum(len(answers) for answers in WRONG_ANSWERS.values())
    assert f"each of {count} plausible wrong answers" in section


def test_on_colab_a_student_notebooks_setup_writes_its_public_tests(tmp_path, monkeypatch, capsys):
    from utils import notebook

    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    monkeypatch.setattr(notebook, "colab_installs", lambda pins: [])  # the runtime has every pin: no pip
    assert "otter-grader" in notebook.pinned_requirements(("requirements.txt", "requirements-assign.txt"))
    monkeypatch.chdir(tmp_path)
    notebook.setup(assignment="02_bipartite_graph")
    tests = OKTestFile.from_file(str(tmp_path / "tests" / "normalize.py"))
    assert tests.test_cases and not any(case.hidden for case in tests.test_cases)
    assert "the checks of 02_bipartite_graph are in tests/" in capsys.readouterr().out


def test_make_assignments_command_writes_into_a_relative_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)  # as `make assignments` runs it: --out dist, from the repository root
    build.main(["--out", "dist", "02_bipartite_graph"])
    assert (tmp_path / "dist" / "student" / "02_bipartite_graph" / "02_bipartite_graph.ipynb").is_file()
    assert (tmp_path / "dist" / "autograder" / "02_bipartite_graph-autograder.zip").is_file()
    with pytest.raises(SystemExit):
        build.main(["--out", "dist", "99_no_such_notebook"])
    assert "no notebook named 99_no_such_notebook" in capsys.readouterr().err
