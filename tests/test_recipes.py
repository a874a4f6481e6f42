"""The recipe registry: every recipe builds its model, and mistakes are caught when a recipe is made."""

import pytest

from utils.models import LightGCN, NGCFStyle
from utils.recipes import DEFAULT_RECIPE, RECIPES, Recipe, get_recipe, register_recipe
from utils.training import TrainConfig


def test_every_recipe_builds_its_model_with_its_arguments():
    for name, recipe in RECIPES.items():
        assert recipe.name == name and recipe.description
        model = recipe.build_model(7, 9)
        assert type(model) is recipe.model_class
        for argument, value in recipe.model_args.items():
            assert getattr(model, argument) == value


def test_the_variants_change_one_thing_each():
    assert DEFAULT_RECIPE.config == TrainConfig()
    assert [RECIPES[n].model_args["num_layers"] for n in ("mf", "lightgcn-1", "lightgcn-2", "default", "lightgcn-4")] == [0, 1, 2, 3, 4]
    assert type(RECIPES["ngcf"].build_model(3, 3)) is NGCFStyle and type(RECIPES["default"].build_model(3, 3)) is LightGCN
    assert (RECIPES["ngcf-no-w"].model_args["feature_transform"], RECIPES["ngcf-linear"].model_args["nonlinear"]) == (False, False)
    for name in ("lightgcn-1", "lightgcn-2", "lightgcn-4"):
        assert RECIPES[name].config.replace(epochs=1) == DEFAULT_RECIPE.config.replace(epochs=1), name
    # The NGCF-style family shares one config of its own, which differs from the default's only in its step.
    ngcf = RECIPES["ngcf"].config.replace(epochs=1)
    assert all(RECIPES[name].config.replace(epochs=1) == ngcf for name in ("ngcf-no-w", "ngcf-linear"))
    assert ngcf.replace(batch_size=DEFAULT_RECIPE.config.batch_size, learning_rate=DEFAULT_RECIPE.config.learning_rate) == \
        DEFAULT_RECIPE.config.replace(epochs=1)
    original = RECIPES["original"]
    assert (original.config.batch_size, original.config.regularize, original.config.negatives_per_positive) == (None, "tables", 1)
    assert (original.model_args["init_std"], original.config.exclude_positives) == (0.01, False)
    assert (original.config.learning_rate, original.config.weight_decay, original.config.epochs) == (1e-3, 1e-6, 1000)


def test_the_same_seed_gives_the_same_start():
    first, second = DEFAULT_RECIPE.build_model(5, 6), RECIPES["ngcf"].build_model(5, 6)
    assert first.user_embedding.weight.equal(second.user_embedding.weight)


def test_mistakes_are_errors_when_a_recipe_is_made():
    with pytest.raises(KeyError, match="unknown model 'lightgnc'"):
        Recipe("typo", "lightgnc")
    with pytest.raises(TypeError, match="takes no argument"):
        Recipe("typo", "lightgcn", {"layers": 3})
    with pytest.raises(KeyError, match="unknown recipe 'defualt'"):
        get_recipe("defualt")
    with pytest.raises(ValueError, match="already called 'default'"):
        register_recipe(DEFAULT_RECIPE.with_config(epochs=3))
    assert DEFAULT_RECIPE.with_model_args(num_layers=2).model_args == {"embedding_dim": 64, "num_layers": 2}
    assert DEFAULT_RECIPE.model_args["num_layers"] == 3  # the registry's recipe is unchanged
