"""Sphinx configuration of the book: the executed notebooks as a static site (`make book`).

`make book` lays out a source folder in book/_build/src (this folder's pages, README.md and a link to
notebooks/) and runs `sphinx-build -c book` on it. Nothing is executed (the notebooks' saved outputs
are rendered as they are) and nothing is fetched: MathJax is served from the build
(sphinx-mathjax-offline), and the notebooks' Colab badge image is replaced by a local copy.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _repo_url() -> str:
    # utils/notebook.py holds the one repository address; read it without importing utils (torch).
    source = (ROOT / "utils" / "notebook.py").read_text(encoding="utf-8")
    return re.search(r'^REPO_URL = "([^"]+)"', source, re.M).group(1)


REPO_URL = _repo_url()

project = "LightGCN Movie Recommendations"
author = "the LightGCN Movie Recommendations contributors"
copyright = "the LightGCN Movie Recommendations contributors"

extensions = [
    "myst_nb",
    "sphinx_copybutton",
    "sphinx-mathjax-offline",  # sets mathjax_path to its bundled MathJax 3 and copies it into _static
]

root_doc = "index"
exclude_patterns = ["README.md", "**/.ipynb_checkpoints", "_build"]
suppress_warnings = ["myst.header"]  # the README's Results section starts at H3 under the page's H1

# The notebooks are rendered from their saved outputs, never executed.
nb_execution_mode = "off"
nb_merge_streams = True
# show_source displays each docstring as Markdown: parsed as MyST, its formulas are typeset.
nb_render_markdown_format = "myst"
# No widget manager from a CDN: the saved notebooks keep widget metadata (tqdm's) but show no widget.
nb_ipywidgets_js = {}
myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
myst_heading_anchors = 3

html_theme = "sphinx_book_theme"
html_title = project
html_static_path = ["_static"]
html_css_files = ["book.css"]
html_favicon = "_static/favicon.svg"
html_js_files = ["book.js"]  # every sidebar button works (see the file)
html_last_updated_fmt = None
html_context = {"default_mode": "light"}  # unset, a first visit logs "Got invalid theme mode" as an error
html_theme_options = {
    "repository_url": REPO_URL,
    "repository_branch": "main",
    "path_to_docs": "",  # the build's pages sit where they sit in the repository: notebooks/NN_*.ipynb
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {"colab_url": "https://colab.research.google.com", "notebook_interface": "classic"},
    "home_page_in_toc": True,
    "show_toc_level": 2,
    "extra_footer": (f'<p>Code: <a href="{REPO_URL}">{REPO_URL.removeprefix("https://")}</a>. Data: MovieLens 100K '
                     '(F. M. Harper and J. A. Konstan, GroupLens), downloaded by each reader and never '
                     "redistributed here.</p>"),
}

# Copy buttons on code, not on outputs; prompts ($, >>>) are left out of what is copied.
copybutton_selector = "div.cell_input div.highlight pre, div.highlight-bash pre, div.highlight-python pre"
copybutton_prompt_text = r"\$ |>>> "
copybutton_prompt_is_regexp = True

COLAB_BADGE = "https://colab.research.google.com/assets/colab-badge.svg"
# An answer folded under a question: "<details><summary>Answer</summary>TEXT</details>", one HTML
# block to Markdown, so the math and Markdown in TEXT would reach the page as raw source.
_DETAILS = re.compile(r"^(?P<indent>[ \t]*)<details><summary>(?P<summary>.*?)</summary>(?P<body>.*?)</details>[ \t]*$",
                      re.S | re.M)


_CODE_LINK = re.compile(r"\]\((?:\.\./)+((?:utils|tests|book)/[^)\s]*)\)")


def _unfold_details(match: re.Match) -> str:
    """The same <details>, with its text as Markdown between the opening and closing tags."""
    indent = match["indent"]
    return (f"{indent}<details><summary>{match['summary']}</summary>\n\n{indent}{match['body'].strip()}\n\n"
            f"{indent}</details>")


#: A listing longer than this (lines of code shown) is folded on the page.
LONG_LISTING_LINES = 25


def _text(value: str | list[str]) -> str:
    """A notebook's text field, saved as one string or as a list of lines."""
    return "".join(value) if isinstance(value, list) else value


def _long_listing(cell: dict) -> bool:
    if not _text(cell["source"]).lstrip().startswith("show_source("):
        return False
    shown = 0
    for output in cell.get("outputs", []):
        data = output.get("data", {})
        shown += len(_text(data.get("text/markdown", data.get("text/plain", ""))).splitlines())
    return shown > LONG_LISTING_LINES


def _prepare_notebook(app, docname: str, source: list[str]) -> None:
    """Render-time rewrites of a notebook's Markdown cells (the .ipynb files are left as they are).

    - The folded answers' text is parsed as Markdown, so their formulas are typeset.
    - The "Open in Colab" badge image comes from the build, not from colab.research.google.com
      (the link itself stays: it is only a link).
    - Links to the code (``../utils/data.py``) point at the repository, where the file is: the
      book holds the notebooks, not ``utils/``. A citation's link to the README's references goes to
      the book's references page.
    - The setup cell (the first code cell: Colab's clone and installs) is left off the page: a
      reader of the book runs nothing, and the lesson starts with the text.
    - A long listing of the library's code (``show_source``, over :data:`LONG_LISTING_LINES` lines)
      is folded under a "Show code cell output" button, so the lesson's text stays in view.
    """
    if not app.env.doc2path(docname).suffix == ".ipynb":
        return
    notebook = json.loads(source[0])
    setup = next((cell for cell in notebook["cells"] if cell["cell_type"] == "code"), None)
    if setup is not None:
        setup.setdefault("metadata", {}).setdefault("tags", []).append("remove-cell")
    for cell in notebook["cells"]:
        if cell["cell_type"] == "code" and _long_listing(cell):
            cell.setdefault("metadata", {}).setdefault("tags", []).append("hide-output")
        if cell["cell_type"] != "markdown":
            continue
        text = _text(cell["source"])
        text = text.replace(COLAB_BADGE, "/colab-badge.svg")
        text = _CODE_LINK.sub(lambda link: f"]({REPO_URL}/blob/main/{link[1]})", text)
        text = text.replace("](../README.md#references)", "](../references.md)")  # the book's references page
        cell["source"] = _DETAILS.sub(_unfold_details, text)
    source[0] = json.dumps(notebook)


#: The MathJax files the site loads: the pages ask for tex-chtml.js, which loads its fonts, and on
#: demand TeX extensions (autoload), the menu and the accessibility tools (with the speech engine).
#: sphinx-mathjax-offline copies the whole distribution; the other bundles (SVG and MathML output,
#: the "full" builds, the Node entry point) are never requested, so they leave the site.
MATHJAX_UNUSED = ["tex-svg.js", "tex-svg-full.js", "tex-mml-svg.js", "mml-svg.js", "mml-chtml.js", "tex-mml-chtml.js",
                  "tex-chtml-full.js", "tex-chtml-full-speech.js", "node-main.js", "output/svg", "output/svg.js"]  # fmt: skip


def _trim_mathjax(app, exception) -> None:
    if exception is not None or app.builder.format != "html":
        return
    folder = Path(app.outdir) / "_static" / "mathjax"
    for name in MATHJAX_UNUSED:
        path = folder / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


def setup(app):
    app.connect("source-read", _prepare_notebook)
    app.connect("build-finished", _trim_mathjax)
