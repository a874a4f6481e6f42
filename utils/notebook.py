"""Helpers the notebooks share: their setup, the repository address, and showing the real code they run.

The repository address lives here only: every notebook's "Open in Colab" badge and setup cell are
written from :data:`REPO_URL` by ``python -m utils.notebook`` (and a test checks that they agree).
To run the setup cell against another copy (a fork, a local clone), point git's own setting at it
rather than editing the cell: ``GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=url.<copy>.insteadOf
GIT_CONFIG_VALUE_0=<REPO_URL>``, as ``tests/test_colab.py`` does to imitate Colab offline.
"""

from __future__ import annotations

import ast
import importlib.metadata
import inspect
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

#: The series' repository.
REPO_URL = "https://github.com/lightgcn-movies/lightgcn-movie-recommendations"
REPO_NAME = REPO_URL.rstrip("/").rsplit("/", 1)[1]
ROOT = Path(__file__).resolve().parent.parent

#: The first code cell of every notebook (three lines): utils/ is one folder up from a notebook
#: (two from an answer key); on Colab, which starts in an empty folder, clone the series there first.
#: ``os.system`` rather than ``!git``: the cell stays plain Python, and a second run's "already
#: exists" goes to the kernel's log, not under the cell.
SETUP_CELL = f"""import os, sys; sys.path[:0] = ["..", "../..", "{REPO_NAME}"]  # where utils/ is
if "google.colab" in sys.modules: os.system("git clone -q --depth 1 {REPO_URL}")
from utils.notebook import setup; setup()  # on Colab: installs the series' pinned packages"""

_BADGE = re.compile(r"\[!\[Open In Colab\]\([^)]*\)\]\([^)]*\)")


def colab_badge(notebook: str) -> str:
    """The Markdown of the "Open in Colab" badge of ``notebook`` (its file name)."""
    path = REPO_URL.removeprefix("https://github.com/")
    return (f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]"
            f"(https://colab.research.google.com/github/{path}/blob/main/notebooks/{notebook})")  # fmt: skip


def setup(assignment: str | None = None) -> None:
    """What the setup cell does once ``utils`` is importable.

    Anywhere but on Colab: nothing (the environment of ``make lab`` has everything). On Colab:
    install the pinned version of each requirement the runtime lacks or has at another version
    (:func:`colab_installs`; torch excepted, Colab's CUDA build stays), and say which. A package
    the runtime had already imported (Colab imports numpy and pandas, among others, before the first
    cell) keeps its old version in this process, a known cause of broken imports, so the cell then
    says so and restarts the runtime the way Colab notebooks restart themselves
    (``os.kill(os.getpid(), 9)``; Colab reconnects by itself). The reader runs the notebook again
    (Runtime > Run all); this time the cell installs nothing and the notebook runs. Without a GPU, it
    says how to get one.

    A student notebook (``make assignments``) passes its ``assignment``, the notebook's name: on
    Colab, where it arrives alone, this also installs otter-grader (``requirements-assign.txt``) and
    writes the notebook's public tests into ``tests/``, where ``grader.check`` reads them.
    """
    if "google.colab" not in sys.modules:
        return
    pins = pinned_requirements(("requirements.txt", "requirements-assign.txt") if assignment else ("requirements.txt",))
    install = colab_installs(pins)
    if install:
        print(f"Colab setup: installing {', '.join(install)} (this runtime lacks them or has other versions).", flush=True)
        if subprocess.run([sys.executable, "-m", "pip", "install", "-q", *install]).returncode:  # noqa: S603 (pinned requirements)
            raise RuntimeError("pip could not install the packages above (its messages say why; is the runtime "
                               "online?). Fix: run this cell again; if it fails again, Runtime > Disconnect and delete runtime.")  # fmt: skip
    stale = [name for name, version in pins.items() if name in sys.modules
             and (f"{name}=={version}" in install or getattr(sys.modules[name], "__version__", version) != version)]  # fmt: skip
    if stale:
        print(f"Colab setup: {', '.join(stale)} had been imported at another version, which this runtime keeps until "
              "it restarts. Restarting the runtime now (Colab reconnects by itself): then run the notebook again, "
              "Runtime > Run all; this cell will install nothing.", flush=True)  # fmt: skip
        time.sleep(1)  # let the message leave the kernel before the process ends
        os.kill(os.getpid(), signal.SIGKILL)
    if assignment:
        from utils.assignments.build import write_student_tests

        write_student_tests(assignment, Path("tests"))
        print(f"Colab setup: the checks of {assignment} are in tests/ (grader.check reads them).")
    import torch

    if not torch.cuda.is_available():
        print("This Colab runtime has no GPU: notebooks 04 and 06 then train for several minutes on its CPU. "
              "For a GPU: Runtime > Change runtime type > T4 GPU, then run the notebook again.")  # fmt: skip


def pinned_requirements(files: tuple[str, ...] = ("requirements.txt",)) -> dict[str, str]:
    """``{distribution: version}`` of the requirements ``files``, less torch (Colab's CUDA build stays)."""
    pins = {}
    for line in "\n".join((ROOT / file).read_text() for file in files).splitlines():
        if line.strip() and not line.startswith("#"):
            name, version = line.strip().split("==")
            pins[name] = version
    pins.pop("torch", None)
    return pins


def colab_installs(pins: dict[str, str]) -> list[str]:
    """``name==version`` of each pin whose installed version differs or is missing (nothing when all match)."""
    install = []
    for name, version in pins.items():
        try:
            installed = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            installed = None
        if installed != version:
            install.append(f"{name}=={version}")
    return install


_ROLE = re.compile(r":(?:class|func|meth|mod|data|attr|exc|obj):`~?([^`]+)`")
_FIELD = re.compile(r"^(\*{0,2}\w[\w, *]*?)( \([^)]*\))?:\s+(.*)$")


def _role_name(match: re.Match) -> str:
    target = match[1]
    return f"`{target.rsplit('.', 1)[-1] if match[0].split('`')[1].startswith('~') else target}`"


def docstring_markdown(docstring: str) -> str:
    """A docstring (reStructuredText, Google-style sections) as Markdown a notebook renders.

    ``.. math::`` blocks become ``$$`` blocks and ``:math:`x``` becomes ``$x$``, so formulas are
    typeset instead of shown raw; cross-reference roles become code; an indented section (``Args:``)
    becomes a list; a literal block after ``::`` becomes a code block.
    """
    lines, out, index = docstring.splitlines(), [], 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if stripped.startswith(".. math::") or stripped.endswith("::"):
            is_math = stripped.startswith(".. math::")
            if not is_math:
                text = line.rstrip()  # "Run it::" reads "Run it:", "Run it ::" reads "Run it"
                out.append(text[:-3] if text.endswith(" ::") else text[:-1])
            index += 1
            block = []
            while index < len(lines) and (not lines[index].strip() or lines[index].startswith((" ", "\t"))):
                block.append(lines[index])
                index += 1
            body = textwrap.dedent("\n".join(block)).strip("\n")
            out += ["", "$$", body, "$$", ""] if is_math else ["", "```", body, "```", ""]
            continue
        if line.startswith((" ", "\t")) and out and stripped:
            field = _FIELD.match(stripped)
            if field and out[-1].strip().endswith(":") or field and out[-1].startswith("- "):
                out.append(f"- `{field[1]}`{field[2] or ''}: {field[3]}")
            else:
                out[-1] = out[-1].rstrip() + " " + stripped
        else:
            out.append(line)
        index += 1
    text = "\n".join(out)
    text = re.sub(r":math:`([^`]+)`", lambda m: f"${m[1]}$", text)
    text = _ROLE.sub(_role_name, text)
    return re.sub(r"``([^`\n]+)``", r"`\1`", text)


def split_docstring(source: str) -> tuple[str | None, str]:
    """The docstring of the function or class whose source this is, and the source without it."""
    lines = source.splitlines(keepends=True)
    node = ast.parse(textwrap.dedent(source)).body[0]
    docstring = ast.get_docstring(node)
    if docstring is None:
        return None, source
    first = node.body[0]
    kept = lines[: first.lineno - 1] + lines[first.end_lineno :]
    return docstring, "".join(kept)


def show_source(*objects) -> None:
    """Display the source of functions or classes from ``utils``: the docstring rendered (formulas
    typeset), then the code, syntax-highlighted.

    The notebooks explain the code they run by showing it from the module, so the text a reader
    sees is always the code that executes: there is no second copy that can drift.
    """
    from IPython.display import Code, Markdown, display

    for obj in objects:
        docstring, code = split_docstring(inspect.getsource(obj))
        name = getattr(obj, "__qualname__", getattr(obj, "__name__", ""))
        if docstring:
            display(Markdown(f"**`{name}`** · {docstring_markdown(docstring)}"))
        display(Code(textwrap.dedent(code), language="python"))


#: Set by ``make run`` (the saved run on the real data, every parameter as shipped): a sentence the
#: text states and the run contradicts then stops the notebook instead of printing a note.
CHECK_CLAIMS_VARIABLE = "LIGHTGCN_CHECK_CLAIMS"
#: The start of the note :func:`expect` prints; ``tests/test_saved_outputs.py`` fails on any saved one.
CLAIM_NOTE = "Note: the text says"


def expect(condition, claim: str) -> bool:
    """Check a sentence of the text against this run's numbers; True if it holds.

    The prose of a notebook describes its saved run: the real MovieLens 100K and the parameters as
    shipped. In that run (``make run`` sets ``LIGHTGCN_CHECK_CLAIMS``) a claim that fails raises
    ``AssertionError``, so the text cannot fall behind its outputs. In a reader's own experiment
    (other parameters, the quick setting of the tests, another dataset) it prints a note saying which
    sentence this run does not bear out, and the notebook goes on.
    """
    from utils.progress import env_flag

    if bool(condition):
        return True
    if env_flag(CHECK_CLAIMS_VARIABLE):
        raise AssertionError(f"The text says {claim}, and this run does not show it. The saved run must bear out "
                             "every sentence: fix the text or the code.")  # fmt: skip
    print(f"{CLAIM_NOTE} {claim}. That describes the saved run (the real data, the parameters as shipped); "
          "this run, with your data or parameters, shows otherwise.")  # fmt: skip
    return False


#: Where a notebook's metadata keeps what the tests need (the reader never sees it): ``quick``, the
#: parameter values of the quick setting ``make test`` runs, and ``invited``, the settings that the text
#: or an exercise invites a reader to try, each run by ``tests/test_notebook_parameters.py``. Values
#: are Python expressions, as the parameters cell would write them.
METADATA_KEY = "lightgcn"


def parameters_cell(cells: list) -> dict:
    """The notebook's one code cell tagged ``parameters``."""
    tagged = [cell for cell in cells if cell["cell_type"] == "code" and "parameters" in cell.get("metadata", {}).get("tags", [])]
    if len(tagged) != 1:
        raise ValueError(f"a notebook needs exactly one code cell tagged 'parameters'; this one has {len(tagged)}")
    return tagged[0]


def override_parameters(cell: dict, values: dict[str, str], why: str) -> None:
    """Append ``NAME = value`` lines to a parameters cell, as papermill injects parameters.

    Each name must already be set in the cell, so that a renamed parameter cannot leave a test
    setting a variable nothing reads.
    """
    source = "".join(cell["source"])
    unknown = [name for name in values if not re.search(rf"^{re.escape(name)}\s*=", source, flags=re.MULTILINE)]
    if unknown:
        known = re.findall(r"^([A-Z_][A-Z0-9_]*)\s*=", source, flags=re.MULTILINE)
        raise ValueError(f"the parameters cell sets no {', '.join(unknown)}; it sets {', '.join(known)}")
    lines = [f"{name} = {value}" for name, value in values.items()]
    cell["source"] = source.rstrip("\n") + f"\n# {why}\n" + "\n".join(lines) + "\n"


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
