"""The layout the README draws: a small core a student reads, the lab beside it, and the map true."""

import json
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

#: The modules a notebook of the core track imports, and what sits directly around them.
CORE_MODULES = ("utils.data", "utils.graph", "utils.losses", "utils.models", "utils.training", "utils.metrics",
                "utils.recipes", "utils.checkpoints", "utils.recommend", "utils.baselines", "utils.plots",
                "utils.notebook", "utils.progress")  # fmt: skip

#: What a student reads from the 100K files to Recall@10: the data layer for ML-100K, the graph, the
#: model base and LightGCN, the losses, the training loop and the metrics.
CORE_PATH = ("utils/data.py", "utils/graph.py", "utils/models/__init__.py", "utils/models/base.py",
             "utils/models/lightgcn.py", "utils/losses.py", "utils/training.py", "utils/metrics.py")  # fmt: skip
CORE_PATH_MAX_LINES = 1800


def _imported_after(*modules: str) -> list[str]:
    """The ``utils`` modules loaded by importing ``modules`` in a fresh interpreter."""
    code = f"import sys; import {', '.join(modules)}; print(__import__('json').dumps(sorted(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)  # noqa: S603 (our own interpreter, fixed code)
    return [name for name in json.loads(done.stdout.splitlines()[-1]) if name.startswith("utils")]


def test_the_core_imports_no_lab_module_and_no_variant():
    loaded = _imported_after(*CORE_MODULES)
    assert "utils.training" in loaded and "utils.models.lightgcn" in loaded  # the check ran on something
    assert not [name for name in loaded if name.startswith(("utils.lab", "utils.models.variants"))], loaded


def test_the_students_path_loads_only_the_core_data_layer():
    loaded = _imported_after("utils.models", "utils.training", "utils.metrics", "utils.data")
    assert not [name for name in loaded if name.startswith(("utils.lab", "utils.models.variants", "utils.datasets"))], loaded


def test_a_variant_is_loaded_by_its_name():
    loaded = _imported_after("utils.recipes; from utils.models import model_class; model_class('ngcf')")
    assert "utils.models.variants.ngcf" in loaded and "utils.models.variants.simgcl" not in loaded


def test_the_core_path_is_short():
    lines = {path: len((ROOT / path).read_text(encoding="utf-8").splitlines()) for path in CORE_PATH}
    assert sum(lines.values()) <= CORE_PATH_MAX_LINES, lines


def _layout_section() -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.search(r"^## Layout\n(.*?)^## ", readme, re.S | re.M).group(1)


def test_the_readme_map_names_every_module():
    section = _layout_section()
    words = set(re.findall(r"[A-Za-z_][A-Za-z_0-9]*", section))
    modules = sorted(path for path in (ROOT / "utils").rglob("*.py") if path.name != "__init__.py")
    assert modules
    unnamed = [str(path.relative_to(ROOT)) for path in modules if path.stem not in words]
    assert not unnamed, f"README's Layout section does not name {unnamed}"
    for folder in ("utils/lab/", "utils/datasets/", "utils/models/variants/"):
        assert folder in section
