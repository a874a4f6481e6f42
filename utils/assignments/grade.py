"""Grade a folder of submissions with an assignment's autograder, without Docker or Gradescope.

``otter run`` grades one submission in this environment as Gradescope would (the same zip, the
same tests, public and hidden); this runs it on every ``.ipynb`` or ``.zip`` (what the student
notebook's export cell writes) in a folder and writes one CSV row per submission::

    python -m utils.assignments.grade dist/autograder/02_bipartite_graph-autograder.zip submissions/ --csv grades.csv

A submission that cannot be graded (not a notebook, a zip without one) gets an empty score and the
reason, rather than stopping the class's grading.
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path


def grade_one(autograder: Path, submission: Path, timeout: int = 600) -> dict:
    """``{"submission", "score", "possible", "<question>": score, …, "error"}`` for one submission."""
    row = {"submission": submission.name, "score": "", "possible": "", "error": ""}
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        shutil.copy(submission, folder / submission.name)
        try:
            command = [sys.executable, "-m", "otter", "run", "-a", str(autograder.resolve()), "-o", str(folder), submission.name]
            run = subprocess.run(command, cwd=folder, capture_output=True, text=True, timeout=timeout)  # noqa: S603 (our own command)
        except subprocess.TimeoutExpired:
            return {**row, "error": f"grading took longer than {timeout} s"}
        results = folder / "results.json"
        if run.returncode or not results.exists():
            last = (run.stderr or run.stdout).strip().splitlines()
            return {**row, "error": last[-1] if last else f"otter run exited with {run.returncode}"}
        scored = [test for test in json.loads(results.read_text())["tests"] if "max_score" in test]
    row.update({test["name"]: test["score"] for test in scored})
    row["score"] = sum(test["score"] for test in scored)
    row["possible"] = sum(test["max_score"] for test in scored)
    return row


def grade_folder(autograder: Path, submissions: Path) -> list[dict]:
    """One row per ``.ipynb`` or ``.zip`` in ``submissions``, sorted by file name."""
    if not autograder.is_file():
        raise FileNotFoundError(f"no autograder zip at {autograder}. Fix: run `make assignments`, which writes dist/autograder/.")
    files = sorted(path for path in submissions.iterdir() if path.suffix in (".ipynb", ".zip"))
    if not files:
        raise FileNotFoundError(f"{submissions} holds no .ipynb or .zip submission.")
    return [grade_one(autograder, path) for path in files]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("autograder", type=Path, help="an autograder zip of dist/autograder/")
    parser.add_argument("submissions", type=Path, help="a folder of submitted .ipynb or .zip files")
    parser.add_argument("--csv", type=Path, default=Path("grades.csv"), help="where to write the grades (default: grades.csv)")
    args = parser.parse_args(argv)
    try:
        rows = grade_folder(args.autograder, args.submissions)
    except FileNotFoundError as error:
        parser.error(str(error))
    columns = list(dict.fromkeys(key for row in rows for key in row if key != "error")) + ["error"]
    with args.csv.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    for row in rows:
        print(f"{row['submission']}: {row['score']} / {row['possible']}" + (f"  ({row['error']})" if row["error"] else ""))
    print(f"wrote {args.csv}")


if __name__ == "__main__":
    main()
