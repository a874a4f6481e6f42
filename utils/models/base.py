r"""What every trained model of the series is, and the registry that names the models.

A model answers three questions (RecBole's ``calculate_loss`` / ``full_sort_predict``, PyG's
``recommendation_loss``): :meth:`BPRModel.get_embedding`, its final user and movie embeddings on a
graph; :meth:`BPRModel.loss`, its training loss on a batch of (user, positive, negatives), as
``(total, parts)``; :meth:`BPRModel.scorer`, the scores of chosen users for every movie, for ranking.

The training loop (:mod:`utils.training`) only computes ``model.loss``, steps and records, so a new model is one
file: a subclass registered with :func:`register_model`; a checkpoint rebuilds it from that name and its arguments.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable
from typing import ClassVar

import torch
from torch import nn

from utils.losses import DENSE_SCORES_LIMIT, batch_scores, bpr_loss, l2_penalty

#: Every model class by its registered name (see :func:`register_model`).
MODELS: dict[str, type[BPRModel]] = {}

#: The variants' modules by registered name: imported on first use, so the core loads none of them.
VARIANT_MODULES = {
    name: f"utils.models.variants.{module}"
    for name, module in (("ngcf", "ngcf"), ("lightgcn-softmax", "softmax"), ("lightgcn-directau", "directau"),
                         ("simgcl", "simgcl"), ("lightgcn-on-ease", "on_ease"))
}  # fmt: skip


class FoldInError(ValueError):
    """A model cannot place a user it was not trained on; the message says why and what to use."""


def register_model(name: str) -> Callable[[type], type]:
    """Class decorator: make a model class known under ``name`` to recipes and checkpoints."""

    def register(cls: type) -> type:
        if not (isinstance(cls, type) and issubclass(cls, BPRModel)):
            raise TypeError(f"{cls!r} must subclass utils.models.BPRModel to be registered.")
        known = MODELS.get(name)
        if known is not None and known.__qualname__ != cls.__qualname__:
            raise ValueError(f"the model name {name!r} is taken by {known.__module__}.{known.__qualname__}.")
        cls.registry_name = name
        MODELS[name] = cls
        return cls

    return register


def model_class(name: str) -> type[BPRModel]:
    """The model class registered as ``name``, or an error listing the names that exist."""
    if name not in MODELS and name in VARIANT_MODULES:
        importlib.import_module(VARIANT_MODULES[name])
    try:
        return MODELS[name]
    except KeyError:
        raise KeyError(f"unknown model {name!r}; registered models: {', '.join(sorted({*MODELS, *VARIANT_MODULES}))}.") from None


class BPRModel(nn.Module):
    """Base class of the series' models: learned layer-0 tables, final embeddings, dot-product
    scores, and the BPR loss with an L2 term on the layer-0 rows.

    A subclass defines :meth:`get_embedding` and :meth:`layer0_tables`, and overrides :meth:`forward`
    to score differently (BPR then trains its scores) or :meth:`loss` to train differently. It stores
    each constructor argument as ``self.<name>`` and names only the arguments it adds, ``__init__(self,
    *args, new_argument=..., **kwargs)``, passing the rest to ``super().__init__``: :meth:`constructor_args`
    collects them up the class hierarchy, and checkpoints rebuild the model from them.
    """

    registry_name: ClassVar[str] = ""
    #: Up to how many (distinct batch user × movie) scores :meth:`forward` computes densely
    #: (:func:`utils.losses.batch_scores`); set it on a model to choose the path for that model.
    dense_scores_limit: int = DENSE_SCORES_LIMIT

    def __init__(self, num_users: int, num_items: int):
        super().__init__()
        if num_users < 1 or num_items < 1:
            raise ValueError(f"need at least one user and one movie, got {num_users} and {num_items}.")
        self.num_users = num_users
        self.num_items = num_items

    def get_embedding(self, normalized_adjacency: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The final ``(user, movie)`` embeddings, of shapes ``(U, d)`` and ``(I, d)``."""
        raise NotImplementedError

    def layer0_tables(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The learned ``(user, movie)`` tables that the L2 term regularises."""
        raise NotImplementedError

    def loss(self, normalized_adjacency: torch.Tensor, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor,
             *, weight_decay: float = 0.0, regularize: str = "batch") -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
        """``(BPR + λ · L2, {"bpr": BPR})`` on one batch (:mod:`utils.losses`), BPR on :meth:`forward`'s
        scores. ``negatives`` has shape ``(batch,)`` or ``(batch, negatives per positive)``; the BPR
        term averages over all of them. The parts are detached: they are for the record."""
        negatives = negatives.reshape(len(users), -1)
        scores = self(normalized_adjacency, users, torch.cat([positives[:, None], negatives], dim=1))
        bpr = bpr_loss(scores[:, :1], scores[:, 1:])
        penalty = l2_penalty(*self.layer0_tables(), users, positives, negatives, regularize)
        return bpr + weight_decay * penalty, {"bpr": bpr.detach()}

    def forward(self, normalized_adjacency: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        """Scores ``ŷ_ui = e_uᵀ e_i`` of user ``users[n]`` for movie ``items[n]``, or for each movie
        of ``items[n, :]``: a tensor of the shape of ``items``."""
        user_final, item_final = self.get_embedding(normalized_adjacency)
        return batch_scores(user_final, item_final, users, items.reshape(len(users), -1),
                            dense_scores_limit=self.dense_scores_limit).reshape(items.shape)

    @torch.no_grad()
    def scorer(self, normalized_adjacency: torch.Tensor) -> Callable[[torch.Tensor], torch.Tensor]:
        """``scores(users)``: the chosen users' scores for every movie, ``(len(users), I)``, from
        one propagation of the graph (for :class:`utils.metrics.RankingEvaluator`)."""
        user_final, item_final = self.get_embedding(normalized_adjacency)

        def scores(users: torch.Tensor) -> torch.Tensor:
            return user_final[users.to(user_final.device)] @ item_final.T

        return scores

    def fold_in(self, normalized_adjacency: torch.Tensor, num_new_users: int) -> tuple[torch.Tensor, torch.Tensor]:
        """``(new users, movies)`` final embeddings on a graph with users added after training
        (nodes ``U … U+n-1``); a model that cannot place them raises :class:`FoldInError`."""
        raise FoldInError(f"{type(self).__name__} cannot place a user it was not trained on. Fix: use a LightGCN model "
                          "(with at least one layer), or retrain with the new user's ratings.")

    @classmethod
    def argument_names(cls) -> tuple[str, ...]:
        """The constructor's arguments besides the graph's sizes (what a recipe or ``tune`` may set), up
        the class hierarchy for as long as a class passes ``*args`` / ``**kwargs`` on to ``super().__init__``."""
        names: list[str] = []
        for klass in (klass for klass in cls.__mro__ if "__init__" in vars(klass)):
            parameters = list(inspect.signature(klass.__init__).parameters.values())[1:]  # without self
            passed_on = [p for p in parameters if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
            names = [p.name for p in parameters if p not in passed_on and p.name not in names] + names
            if not passed_on:
                break
        return tuple(name for name in names if name not in ("num_users", "num_items"))

    def constructor_args(self) -> dict:
        """The arguments that rebuild this model with ``type(self)(**args)``, as plain Python values."""
        args = {}
        for name in ("num_users", "num_items", *self.argument_names()):
            if not hasattr(self, name):
                raise AttributeError(f"{type(self).__name__} must store its argument {name!r} as self.{name}.")
            value = getattr(self, name)
            args[name] = value.tolist() if isinstance(value, torch.Tensor) else value
        return args
