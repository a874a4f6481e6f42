"""The saved epoch selection that notebook 06's class setting reads, held to the recipe registry.

``notebooks/results/ablation_epochs.json`` is written by ``python -m utils.lab.ablations``: every
comparison variant's validation curve and the epochs it chose. Notebook 06 reads it instead of
training the 8 variants on validation again (``FULL_RUN = False``), and trains each variant for the
registry's epochs; so the file must name how it was made, describe the recipes as the registry has
them now, and have chosen exactly the registry's epochs.
"""

import json
import subprocess

import pandas as pd
import pytest

from utils.lab.ablations import COMPARISON, EPOCHS_FILE, load_chosen_epochs, save_chosen_epochs
from utils.notebook import ROOT
from utils.recipes import RECIPES
from utils.training import TrainConfig

SAVED = json.loads(EPOCHS_FILE.read_text(encoding="utf-8"))
VARIANTS = {variant["model"]: variant for variant in SAVED["variants"]}


def test_the_file_names_its_command_commit_and_settings():
    run = SAVED["run"]
    assert run["command"].startswith("python -m utils.lab.ablations"), run["command"]
    assert len(run["commit"]) == 40 and int(run["commit"], 16) >= 0, run["commit"]
    for key in ("date", "machine", "wall_seconds", "max_epochs", "eval_every", "validation_per_user", "monitor"):
        assert key in run, f"the run description lacks {key!r}"
    assert (run["dataset"], run["split"]) == ("ml-100k", "ua"), "notebook 06's saved run is on ML-100K's ua split"


def test_the_commit_is_in_the_history():
    """The commit named is one of this repository's (skipped outside a git checkout, e.g. a download)."""
    done = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{SAVED['run']['commit']}^{{commit}}"],  # noqa: S603, S607
                          capture_output=True, check=False)  # fmt: skip
    if done.returncode != 0 and not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    assert done.returncode == 0, f"commit {SAVED['run']['commit']} is not in this repository's history"


def test_every_comparison_variant_is_there_under_its_recipe():
    assert list(VARIANTS) == list(COMPARISON), "the file must hold the comparison's variants, in its order"
    for name, recipe_name in COMPARISON.items():
        assert VARIANTS[name]["recipe"] == recipe_name


@pytest.mark.parametrize("name", list(COMPARISON))
def test_the_registry_trains_what_the_file_chose(name):
    """Each recipe's epochs are the ones chosen on validation, and the rest of its recipe is the one
    the choice was made with: change a recipe and the selection must be run again."""
    saved, recipe = VARIANTS[name], RECIPES[COMPARISON[name]]
    assert recipe.config.epochs == saved["chosen_epochs"], (
        f"{name}: the registry trains {recipe.config.epochs} epochs, the validation run chose {saved['chosen_epochs']}; "
        "run `python -m utils.lab.ablations` and update utils/recipes.py"
    )
    assert TrainConfig(**saved["config"]) == recipe.config, f"{name}: the recipe's config changed since the selection"
    assert saved["model_args"] == dict(recipe.model_args), f"{name}: the recipe's model changed since the selection"


@pytest.mark.parametrize("name", list(COMPARISON))
def test_the_chosen_epochs_are_the_peak_of_the_saved_curve(name):
    """The chosen epoch holds the curve's best value and no earlier epoch is better. The file keeps
    6 decimals, so two epochs may tie there (LightGCN with 4 layers: 95 and 100, which the unrounded
    values told apart)."""
    run = SAVED["run"]
    curve = pd.Series({int(epoch): value for epoch, value in VARIANTS[name]["validation_curve"].items()})
    assert list(curve.index) == list(range(run["eval_every"], run["max_epochs"] + 1, run["eval_every"]))
    chosen = VARIANTS[name]["chosen_epochs"]
    assert curve[chosen] == curve.max() and (curve[curve.index < chosen] <= curve[chosen]).all()


def test_save_and_load_round_trip(tmp_path):
    chosen, curves, run = load_chosen_epochs()
    recipes = {name: RECIPES[recipe] for name, recipe in COMPARISON.items()}
    save_chosen_epochs(tmp_path / "again.json", chosen, curves, recipes, run)
    assert json.loads((tmp_path / "again.json").read_text(encoding="utf-8")) == SAVED
    again = load_chosen_epochs(tmp_path / "again.json")
    assert again[0] == chosen and all(again[1][name].equals(curves[name]) for name in curves)
