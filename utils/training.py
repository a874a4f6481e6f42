r"""Training any model of :mod:`utils.models`: devices and seeds, negative sampling, the config, the loop.

Each step takes the model's loss on a batch (:meth:`utils.models.BPRModel.loss`) and one Adam step;
everything a run can be told sits in :class:`TrainConfig`, whose defaults are the default recipe.
"""

from __future__ import annotations

import copy
import dataclasses
import math
import random
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch

from utils.losses import REGULARIZERS
from utils.metrics import METRICS, RankingEvaluator
from utils.models import BPRModel
from utils.progress import progress_bar


def pick_device(preferred: str | None = None) -> torch.device:
    """``preferred`` if given ("cpu", "cuda", "mps"), else CUDA, then Apple MPS, then the CPU; a GPU
    asked for but absent is an error that says how to get one, not a silent CPU run."""
    has_mps = getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available()
    if preferred in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu")
    device = torch.device(preferred)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"device 'cuda' was asked for, but PyTorch sees no CUDA GPU (torch {torch.__version__}, CUDA build: "
            f"{torch.version.cuda is not None}).\nFix: on Colab choose Runtime > Change runtime type > GPU; elsewhere "
            "install a CUDA build of torch (README, 'GPU or CPU'); or use device='cpu' (everything runs there, only slower)."
        )
    if device.type == "mps" and not has_mps:
        raise RuntimeError("device 'mps' was asked for, but this machine has no Apple GPU. Fix: use device='cpu'.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch: the same seed gives the same run on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


#: The default ``dense_lookup_limit`` of :class:`NegativeSampler`, in (user, movie) cells.
DENSE_LOOKUP_LIMIT = 50_000_000


class NegativeSampler:
    """Uniform negative movies for users, vectorised.

    With ``exclude_positives=True`` a sampled movie that the user rated in training is re-drawn
    (the rejection loop touches only the collisions, a few percent on ML-100K). "Did user u rate
    movie i?" is answered from a dense table of users × movies booleans (one byte a cell, 1.6 MB
    on ML-100K: a lookup is one index) when it has at most ``dense_lookup_limit`` cells, else by a
    binary search among the sorted rated pairs. Both give the same draws.
    """

    def __init__(self, train_users, train_items, num_items: int, exclude_positives: bool = True,
                 *, dense_lookup_limit: int = DENSE_LOOKUP_LIMIT):  # fmt: skip
        self.num_items = num_items
        self.exclude_positives = exclude_positives
        users = torch.tensor(np.asarray(train_users), dtype=torch.long)
        items = torch.tensor(np.asarray(train_items), dtype=torch.long)
        positive_keys = torch.unique(users * num_items + items)  # sorted
        num_cells = (int(users.max()) + 1) * num_items if len(users) else 0
        self._rated = self._positive_keys = None
        if 0 < num_cells <= dense_lookup_limit:
            self._rated = torch.zeros(num_cells, dtype=torch.bool)  # cell u * num_items + i: u rated i
            self._rated[positive_keys] = True
        else:
            self._positive_keys = positive_keys
        if exclude_positives:
            full = torch.bincount(positive_keys // num_items) >= num_items  # distinct movies per user
            if full.any():
                raise ValueError(f"user index {int(torch.nonzero(full)[0])} rated every movie: no negative exists.")

    def is_positive(self, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
        keys = users * self.num_items + items
        if self._rated is not None:
            inside = keys < len(self._rated)  # a user with no training rating has no cells
            return self._rated[keys.clamp(max=len(self._rated) - 1)] & inside
        if not len(self._positive_keys):
            return torch.zeros_like(keys, dtype=torch.bool)
        position = torch.searchsorted(self._positive_keys, keys).clamp(max=len(self._positive_keys) - 1)
        return self._positive_keys[position] == keys

    def sample(self, users: torch.Tensor, generator: torch.Generator | None = None) -> torch.Tensor:
        items = torch.randint(self.num_items, users.shape, generator=generator)
        if self.exclude_positives:
            # Positions still to re-draw; each round looks only at them, so it costs little.
            redraw = torch.nonzero(self.is_positive(users, items)).flatten()
            while len(redraw):
                items[redraw] = torch.randint(self.num_items, (len(redraw),), generator=generator)
                redraw = redraw[self.is_positive(users[redraw], items[redraw])]
        return items


@dataclass(frozen=True)
class TrainConfig:
    """Every knob of a training run; the defaults are the series' default recipe.

    A config is checked when it is made: a misspelt ``monitor`` or a ``patience`` with no
    evaluation is an error at once, not a run that silently never stops early.

    Args:
        epochs: passes over the training interactions.
        batch_size: (user, positive, negatives) triples per optimiser step; ``None`` = the whole
            training set in one step per epoch (full batch).
        learning_rate: Adam's step size.
        weight_decay: λ, the weight of the L2 term.
        regularize: ``"batch"`` (the paper: layer-0 rows of the batch, divided by the batch size)
            or ``"tables"`` (the whole embedding tables, summed: the original tutorial's recipe).
        exclude_positives: re-draw negatives that the user rated in training.
        negatives_per_positive: negatives drawn for each positive; the BPR term averages over them
            (1 in the paper; more gives each full-graph propagation more signal for little cost).
        cosine_decay: anneal the learning rate to 0 along a cosine over all the run's optimiser
            steps (epochs × steps per epoch): it is 0 after the last step.
        eval_every: measure the ranking metrics every this many epochs, and after the last (0: never).
        patience: tolerate this many evaluations in a row without improvement of ``monitor``: stop
            at the next one and restore the best weights (``None``: never stop early; 0: stop at
            the first evaluation that does not improve). Needs ``eval_every`` ≥ 1.
        monitor: the metric early stopping and the history watch, ``"<metric>@<K>"`` with a metric
            of :data:`utils.metrics.METRICS`.
        seed: seeds the initialisation and the sampling.
    """

    epochs: int = 80
    batch_size: int | None = 32768
    learning_rate: float = 8e-2
    weight_decay: float = 1e-3
    regularize: str = "batch"
    exclude_positives: bool = True
    negatives_per_positive: int = 4
    cosine_decay: bool = False
    eval_every: int = 5
    patience: int | None = None
    monitor: str = "recall@10"
    seed: int = 0

    def __post_init__(self):
        def whole(value, least: int) -> bool:
            return isinstance(value, int) and value >= least

        monitor = re.fullmatch(r"([a-z]+)@([1-9][0-9]*)", str(self.monitor))
        checks = [
            (whole(self.epochs, 1), f"epochs must be a whole number 1 or more, got {self.epochs!r}"),
            (self.batch_size is None or whole(self.batch_size, 1),
             f"batch_size must be 1 or more, or None for full batch, got {self.batch_size!r}"),
            (self.learning_rate > 0, f"learning_rate must be positive, got {self.learning_rate!r}"),
            (self.weight_decay >= 0, f"weight_decay must be 0 or more, got {self.weight_decay!r}"),
            (self.regularize in REGULARIZERS, f"regularize must be one of {', '.join(map(repr, REGULARIZERS))}, got {self.regularize!r}"),
            (whole(self.negatives_per_positive, 1), f"negatives_per_positive must be 1 or more, got {self.negatives_per_positive!r}"),
            (whole(self.eval_every, 0), f"eval_every must be 0 (never) or more, got {self.eval_every!r}"),
            (self.patience is None or whole(self.patience, 0), f"patience must be 0 or more, or None, got {self.patience!r}"),
            (self.patience is None or self.eval_every != 0,
             f"patience={self.patience!r} stops on evaluations, but eval_every=0 never evaluates: set eval_every >= 1 or patience=None"),
            (monitor is not None and monitor.group(1) in METRICS,
             f"monitor must be '<metric>@<K>' with a metric of {', '.join(METRICS)} (e.g. recall@10), got {self.monitor!r}"),
        ]  # fmt: skip
        problems = [message for passed, message in checks if not passed]
        if problems:
            raise ValueError("invalid TrainConfig: " + "; ".join(problems) + ".")

    @property
    def monitor_k(self) -> int:
        """The K of ``monitor``: the evaluation during training must measure at least this K."""
        return int(self.monitor.split("@")[1])

    def replace(self, **changes) -> TrainConfig:
        """A copy with ``changes`` (checked like any new config); unknown fields are an error."""
        unknown = set(changes) - {f.name for f in dataclasses.fields(self)}
        if unknown:
            raise TypeError(f"unknown TrainConfig field(s) {sorted(unknown)}; fields: {', '.join(f.name for f in dataclasses.fields(self))}.")
        return dataclasses.replace(self, **changes)


@dataclass
class History:
    """What a run measured: one row per epoch (loss, its parts, seconds) with metrics every ``eval_every``."""

    rows: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    train_seconds: float = 0.0
    device: str = "cpu"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("epoch") if self.rows else pd.DataFrame()


def make_optimizer(model: torch.nn.Module, learning_rate: float) -> torch.optim.Optimizer:
    """Adam; on CUDA its fused form, one kernel for all parameters instead of several per parameter."""
    return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True if next(model.parameters()).is_cuda else None)


class Trainer:
    """One training run: a model, its graph and training pairs, a config, and the state between epochs.

    :meth:`fit` runs the epochs, :meth:`run_epoch` one of them, :meth:`step` one optimiser step as
    :meth:`fit` takes it (the benchmark profiles these very calls). Each epoch shuffles all training
    pairs, draws ``negatives_per_positive`` negatives for each, and steps once per batch.
    """

    def __init__(self, model: BPRModel, normalized_adjacency: torch.Tensor, train_users, train_items,
                 config: TrainConfig, device: torch.device | str | None = None):  # fmt: skip
        self.device = device if isinstance(device, torch.device) else pick_device(device)
        self.config = config
        seed_everything(config.seed)
        self.generator = torch.Generator().manual_seed(config.seed)
        self.model = model.to(self.device)
        self.adjacency = normalized_adjacency.to(self.device)
        self.users = torch.tensor(np.asarray(train_users), dtype=torch.long)
        self.items = torch.tensor(np.asarray(train_items), dtype=torch.long)
        if len(self.users) == 0:
            raise ValueError("there are no training pairs to train on.")
        self.sampler = NegativeSampler(self.users, self.items, model.num_items, config.exclude_positives)
        self.optimizer = make_optimizer(model, config.learning_rate)
        self.batch_size = config.batch_size or len(self.users)
        self.batch_starts = range(0, len(self.users), self.batch_size)
        total_steps = config.epochs * len(self.batch_starts)
        self.scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(self.optimizer, T_max=total_steps) if config.cosine_decay else None
        self.loss_parts: list[str] | None = None

    def sample_epoch(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Shuffled (users, positives, negatives) of one epoch, on the device; negatives ``(N, draws)``."""
        draws = self.config.negatives_per_positive
        order = torch.randperm(len(self.users), generator=self.generator)
        users, items = self.users[order], self.items[order]
        negatives = self.sampler.sample(users.repeat(draws), self.generator).view(draws, -1).T
        # One copy to the device per epoch; the steps slice it there and never wait for the host.
        return tuple(t.to(self.device) for t in (users, items, negatives))

    def step(self, users: torch.Tensor, positives: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        """One Adam step on one batch; returns ``[loss, *parts]``, detached and left on the device."""
        loss, parts = self.model.loss(self.adjacency, users, positives, negatives,
                                      weight_decay=self.config.weight_decay, regularize=self.config.regularize)  # fmt: skip
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        if self.loss_parts is None:
            self.loss_parts = list(parts)
        return torch.stack([loss.detach(), *parts.values()])

    def run_epoch(self) -> dict:
        """Sample and train one epoch; return its mean ``loss`` and parts and its ``seconds``."""
        started = time.perf_counter()
        users, positives, negatives = self.sample_epoch()
        step_losses = [self.step(users[batch], positives[batch], negatives[batch])
                       for batch in (slice(start, start + self.batch_size) for start in self.batch_starts)]  # fmt: skip
        # Read once per epoch: a loss.item() per step would make the CPU wait for the GPU every step.
        step_losses = torch.stack(step_losses).tolist()
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        seconds = time.perf_counter() - started
        sizes = [min(self.batch_size, len(self.users) - start) for start in self.batch_starts]
        totals = [sum(values[column] * size for values, size in zip(step_losses, sizes)) for column in range(len(step_losses[0]))]
        names = ["loss", *(self.loss_parts or [])]
        return {**{name: total / len(self.users) for name, total in zip(names, totals)}, "seconds": seconds}

    def fit(self, evaluate: Callable[[BPRModel], dict] | None = None, progress: bool = True) -> History:
        """Train ``config.epochs`` epochs (fewer with early stopping); return the :class:`History`.

        ``evaluate(model)`` (e.g. validation Recall@10) runs every ``config.eval_every`` epochs and
        must return ``config.monitor`` among its metrics; its time is not counted in ``train_seconds``.
        """
        config, model = self.config, self.model
        if config.patience is not None and evaluate is None:
            raise ValueError(f"patience={config.patience} stops on evaluations, but no evaluate function was given: "
                             "pass evaluate=ranking_monitor(...) or use patience=None.")  # fmt: skip
        history = History(device=str(self.device))
        best_value, best_state, evaluations_without_gain = -math.inf, None, 0
        bar = progress_bar(range(1, config.epochs + 1), desc=f"training on {self.device}", disable=not progress, unit="epoch")
        for epoch in bar:
            measured = self.run_epoch()
            history.train_seconds += measured.pop("seconds")
            row = {"epoch": epoch, **measured, "train_seconds": history.train_seconds}
            if evaluate is not None and config.eval_every and (epoch % config.eval_every == 0 or epoch == config.epochs):
                model.eval()
                with torch.no_grad():
                    row.update(evaluate(model))
                model.train()
                if config.monitor not in row:
                    raise KeyError(f"the evaluation returned {sorted(set(row) - {'epoch', 'train_seconds', *measured})}, not the monitored {config.monitor!r}. Fix: evaluate "
                                   f"at K = {config.monitor_k} (ranking_monitor(..., ks=({config.monitor_k},))) or monitor a metric it measures.")  # fmt: skip
                value = row[config.monitor]
                if value > best_value:
                    best_value, history.best_epoch, evaluations_without_gain = value, epoch, 0
                    if config.patience is not None:
                        best_state = copy.deepcopy(model.state_dict())
                else:
                    evaluations_without_gain += 1
                bar.set_postfix(loss=f"{row['loss']:.4f}", **{config.monitor: f"{value:.4f}"})
            else:
                bar.set_postfix(loss=f"{row['loss']:.4f}")
            history.rows.append(row)
            if not math.isfinite(row["loss"]):
                raise FloatingPointError(f"the loss became {row['loss']} at epoch {epoch}: lower the learning rate.")
            if config.patience is not None and evaluations_without_gain > config.patience:
                break
        bar.close()
        if best_state is not None:
            model.load_state_dict(best_state)
        return history


def train_model(model: BPRModel, normalized_adjacency: torch.Tensor, train_users, train_items, config: TrainConfig,
                evaluate: Callable[[BPRModel], dict] | None = None, device: torch.device | str | None = None,
                progress: bool = True) -> History:  # fmt: skip
    """Train ``model`` on the training pairs with ``config``; return the :class:`History` (see :class:`Trainer`)."""
    return Trainer(model, normalized_adjacency, train_users, train_items, config, device).fit(evaluate, progress)


def ranking_monitor(evaluator: RankingEvaluator, normalized_adjacency: torch.Tensor, ks=(10,)) -> Callable[[BPRModel], dict]:
    """``evaluate(model)`` for :meth:`Trainer.fit`: Recall, NDCG, ... at ``ks`` on ``evaluator``'s split."""

    on_device = {}  # one copy per device: a model may cache work per graph tensor (LightGCN-on-EASE)

    def evaluate(model: BPRModel) -> dict:
        device = next(model.parameters()).device
        if device not in on_device:
            on_device[device] = normalized_adjacency.to(device)
        return evaluator.evaluate(model.scorer(on_device[device]), ks)

    return evaluate
