"""The named recipes of the series: a model, its arguments and its training config.

One registry, :data:`RECIPES`, read by the notebooks, ``python -m utils.lab.bench``, ``python -m
utils.lab.tune``, the ablations of notebook 06 and ``python -m utils.recommend``. A recipe names its
model by the name it is registered under in :data:`utils.models.MODELS`, so adding a model is one
file in ``utils/models/`` plus one entry here.

The configs of ``default`` and its variants were chosen on a validation split carved from
``ua.base`` (README, "How the default recipe was chosen"); ``TrainConfig()`` is ``default``'s.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace

from utils.models import MODELS, BPRModel, model_class
from utils.models.base import VARIANT_MODULES
from utils.training import TrainConfig, seed_everything


@dataclass(frozen=True)
class Recipe:
    """A model class (by registered name), its constructor arguments and a training config.

    Args:
        name: the recipe's name in :data:`RECIPES` (and in the bench's JSON lines).
        model: a name registered in :data:`utils.models.MODELS`.
        model_args: keyword arguments of the model's constructor besides the graph's sizes.
        config: how to train it.
        description: one line for tables and ``--help``.
    """

    name: str
    model: str
    model_args: Mapping = field(default_factory=dict)
    config: TrainConfig = field(default_factory=TrainConfig)
    description: str = ""

    def __post_init__(self):
        # An unknown model name is an error now, not at training time. A variant's arguments are
        # checked when its module is first loaded (``model_class``), so the core imports no variant.
        if self.model not in MODELS and self.model not in VARIANT_MODULES:
            model_class(self.model)
        object.__setattr__(self, "model_args", dict(self.model_args))
        if self.model in MODELS:
            self.model_class  # noqa: B018 (checks the arguments)

    @property
    def model_class(self) -> type[BPRModel]:
        cls = model_class(self.model)
        accepted = set(cls.argument_names())
        unknown = set(self.model_args) - accepted
        if unknown:
            raise TypeError(f"recipe {self.name!r}: {cls.__name__} takes no argument(s) {sorted(unknown)}; it takes {sorted(accepted)}.")
        return cls

    def build_model(self, num_users: int, num_items: int) -> BPRModel:
        """A freshly initialised model, seeded by ``config.seed``."""
        seed_everything(self.config.seed)
        return self.model_class(num_users, num_items, **self.model_args)

    def with_config(self, **changes) -> Recipe:
        """The same recipe with some training settings changed (``epochs=4``, ``seed=1``, ...)."""
        return replace(self, config=self.config.replace(**changes))

    def with_model_args(self, **changes) -> Recipe:
        """The same recipe with some model arguments changed (``num_layers=2``, ...)."""
        return replace(self, model_args={**self.model_args, **changes})


#: MF-BPR needs far stronger regularisation than LightGCN: with LightGCN's settings (λ 1e-3) it
#: over-fits within 10 epochs (README, "How the default recipe was chosen").
_MF_CONFIG = TrainConfig(epochs=75, learning_rate=2e-2, weight_decay=1e-2)


#: The NGCF-style models keep the batches of 8192 at lr 2e-2 they were chosen with: at batches of
#: 32768 the ablation without the non-linearity peaks lower and then collapses, and the family shares
#: one recipe so that each row changes one thing (README, "How the default recipe was chosen").
_NGCF_CONFIG = TrainConfig(batch_size=8192, learning_rate=2e-2)


def _batch_8192(**settings) -> TrainConfig:
    """The research track's recipes, each chosen on validation with batches of 8192 at lr 2e-2 (unless set)."""
    return TrainConfig(**{"batch_size": 8192, "learning_rate": 2e-2, **settings})


def _recipes(*recipes: Recipe) -> dict[str, Recipe]:
    return {recipe.name: recipe for recipe in recipes}


#: Every named recipe. Variants of ``default`` change one thing each; their ``epochs`` are where each
#: peaked on the validation split (:func:`utils.lab.ablations.choose_epochs`, notebook 06 section 2).
RECIPES: dict[str, Recipe] = _recipes(
    Recipe("default", "lightgcn", {"embedding_dim": 64, "num_layers": 3}, TrainConfig(),
           "LightGCN, 3 layers, the series' validation-tuned recipe"),
    Recipe("original", "lightgcn", {"embedding_dim": 64, "num_layers": 3, "init_std": 0.01},
           TrainConfig(epochs=1000, batch_size=None, learning_rate=1e-3, weight_decay=1e-6, regularize="tables",
                       exclude_positives=False, negatives_per_positive=1, eval_every=50),
           "the recipe of the tutorial this series grew from: initial std 0.01, negatives drawn among all movies, "
           "one full-batch Adam step per epoch at lr 1e-3, λ = 1e-6 on the whole tables"),
    Recipe("mf", "lightgcn", {"embedding_dim": 64, "num_layers": 0}, _MF_CONFIG,
           "MF-BPR (LightGCN with 0 layers), its own validation-tuned config"),
    Recipe("lightgcn-1", "lightgcn", {"embedding_dim": 64, "num_layers": 1}, TrainConfig(epochs=15), "LightGCN, 1 layer"),
    Recipe("lightgcn-2", "lightgcn", {"embedding_dim": 64, "num_layers": 2}, TrainConfig(epochs=40), "LightGCN, 2 layers"),
    Recipe("lightgcn-4", "lightgcn", {"embedding_dim": 64, "num_layers": 4}, TrainConfig(epochs=100), "LightGCN, 4 layers"),
    Recipe("ngcf", "ngcf", {"embedding_dim": 64, "num_layers": 3, "feature_transform": True, "nonlinear": True},
           _NGCF_CONFIG.replace(epochs=85), "NGCF-style: LightGCN plus weight matrices and LeakyReLU"),
    Recipe("ngcf-no-w", "ngcf", {"embedding_dim": 64, "num_layers": 3, "feature_transform": False, "nonlinear": True},
           _NGCF_CONFIG.replace(epochs=85), "NGCF-style without feature transformation"),
    Recipe("ngcf-linear", "ngcf", {"embedding_dim": 64, "num_layers": 3, "feature_transform": True, "nonlinear": False},
           _NGCF_CONFIG.replace(epochs=50), "NGCF-style without non-linearity"),
    # Notebook 10: trained models beyond BPR LightGCN, each set on the validation split.
    Recipe("long-cosine", "lightgcn", {"embedding_dim": 64, "num_layers": 3},
           _batch_8192(epochs=150, learning_rate=3e-2, cosine_decay=True, eval_every=10),
           "LightGCN, longer (150 epochs) with a cosine learning-rate schedule from 3e-2"),
    Recipe("wide", "lightgcn", {"embedding_dim": 128, "num_layers": 3}, _batch_8192(epochs=55),
           "LightGCN with 128-dimensional embeddings"),
    Recipe("softmax", "lightgcn-softmax", {"embedding_dim": 64, "num_layers": 3, "temperature": 1.0},
           _batch_8192(epochs=60, weight_decay=1e-2, negatives_per_positive=1),
           "LightGCN trained with a softmax over all movies"),
    Recipe("softmax-cosine", "lightgcn-softmax", {"embedding_dim": 64, "num_layers": 3, "temperature": 0.2, "cosine": True},
           _batch_8192(epochs=35, learning_rate=5e-2, weight_decay=0.0, negatives_per_positive=1),
           "LightGCN trained with a softmax over cosines at temperature 0.2"),
    Recipe("simgcl", "simgcl", {"embedding_dim": 64, "num_layers": 3, "contrastive_weight": 0.05},
           _batch_8192(epochs=25), "SimGCL: BPR plus a contrastive term between noisy views"),
    Recipe("directau", "lightgcn-directau", {"embedding_dim": 64, "num_layers": 3, "uniformity_weight": 1.0},
           _batch_8192(epochs=60, learning_rate=1e-2, weight_decay=0.0, negatives_per_positive=1),
           "LightGCN trained with DirectAU's alignment and uniformity"),
    Recipe("on-ease", "lightgcn-on-ease", {"embedding_dim": 64, "num_layers": 3, "ease_weight": 1.0, "ease_regularization": 500.0},
           _batch_8192(epochs=60), "LightGCN trained with BPR on top of EASE's fixed scores (β = 1, EASE's λ = 500)"),
)  # fmt: skip

DEFAULT_RECIPE = RECIPES["default"]
ORIGINAL_RECIPE = RECIPES["original"]


def get_recipe(name: str) -> Recipe:
    """The recipe called ``name``, or an error listing the names that exist."""
    try:
        return RECIPES[name]
    except KeyError:
        raise KeyError(f"unknown recipe {name!r}; recipes: {', '.join(RECIPES)}.") from None


def register_recipe(recipe: Recipe) -> Recipe:
    """Add ``recipe`` to :data:`RECIPES` (a name may be registered once)."""
    if recipe.name in RECIPES and RECIPES[recipe.name] != recipe:
        raise ValueError(f"a different recipe is already called {recipe.name!r}.")
    RECIPES[recipe.name] = recipe
    return recipe
