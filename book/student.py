"""The students' book (`make book STUDENT=1`): rewrites the copy of the sources in book/_build/src.

- Each graded question's answer is blanked as in the student notebooks (`make assignments`): the
  function keeps its signature and docstring, its body is `...`, its outputs go, and the checks
  that follow it leave the page.
- The answer keys (notebooks/solutions/) and their part of the sidebar leave the book.

The repository itself is public, answers included: this build keeps them off the pages students
are sent to, nothing more (the teachers' page says so).
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from utils.assignments.build import blank_solution, role  # noqa: E402  (nbformat and the standard library only)


def student_notebook(path: Path) -> bool:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    cells, changed = [], False
    for cell in notebook["cells"]:
        if role(cell).get("test"):
            changed = True
            continue
        if role(cell).get("solution"):
            cell["source"] = blank_solution("".join(cell["source"])).splitlines(keepends=True)
            cell["outputs"], cell["execution_count"] = [], None
            changed = True
        cells.append(cell)
    notebook["cells"] = cells
    path.write_text(json.dumps(notebook, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    return changed


def main(source: Path) -> None:
    shutil.rmtree(source / "notebooks" / "solutions")
    index = source / "index.md"
    text = index.read_text(encoding="utf-8")
    text, removed = re.subn(r"```\{toctree\}\n:caption: Answer keys \(for teachers\)\n.*?```\n\n", "", text, flags=re.S)
    if removed != 1:
        raise SystemExit("book/student.py: index.md has no 'Answer keys (for teachers)' toctree to remove")
    index.write_text(text.replace("the glossary, the teachers' answer keys and the measured results",
                                  "the glossary and the measured results"), encoding="utf-8")  # fmt: skip
    graded = [path.name for path in sorted((source / "notebooks").glob("[0-9][0-9]_*.ipynb")) if student_notebook(path)]
    print(f"student book: graded answers blanked in {', '.join(graded)}; answer keys left out")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
