r"""Training LightGCN with the BPR loss: negative sampling, the loss, the loop, checkpoints.

Bayesian Personalised Ranking (Rendle et al., 2009) asks that a user score a movie they rated above
one they did not. For a batch :math:`\mathcal{B}` of triples (user :math:`u`, positive :math:`i`,
sampled negative :math:`j`):

.. math::

    \mathcal{L} = \frac{1}{|\mathcal{B}|} \sum_{(u,i,j) \in \mathcal{B}} -\ln \sigma(\hat y_{ui} - \hat y_{uj})
    \;+\; \lambda \, \frac{1}{2|\mathcal{B}|} \sum_{(u,i,j) \in \mathcal{B}}
    \left(\lVert \mathbf{e}_u^{(0)} \rVert^2 + \lVert \mathbf{e}_i^{(0)} \rVert^2 + \lVert \mathbf{e}_j^{(0)} \rVert^2\right),

with the L2 term on the layer-0 embeddings of the batch, as in the paper and the authors' code.
"""

from __future__ import annotations

import copy
import math
import os
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from tqdm.auto import tqdm

from utils.data import DATA_CACHE_DIR
from utils.metrics import RankingEvaluator, embedding_scores
from utils.model import LightGCN, NGCFStyle

# ---------------------------------------------------------------------------------------------
# Devices and seeds
# ---------------------------------------------------------------------------------------------


def pick_device(preferred: str | None = None) -> torch.device:
    """``preferred`` if given ("cpu", "cuda", "mps"), else CUDA, then Apple MPS, then the CPU.

    Asking for a GPU that is not there is an error that says how to get one, not a silent CPU run.
    """
    if preferred in (None, "auto"):
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    device = torch.device(preferred)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            "device 'cuda' was asked for, but PyTorch sees no CUDA GPU "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda is not None}).\n"
            "Fix: on Colab choose Runtime > Change runtime type > GPU; elsewhere install a CUDA build "
            "of torch (README, 'GPU or CPU'); or use device='cpu' (everything runs there, only slower)."
        )
    if device.type == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise RuntimeError("device 'mps' was asked for, but this machine has no Apple GPU. Fix: use device='cpu'.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch: the same seed gives the same run on the CPU."""
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


# ---------------------------------------------------------------------------------------------
# Negative sampling and the loss
# ---------------------------------------------------------------------------------------------


#: Up to this many (user, movie) cells the sampler keeps a dense table of who rated what (1.6 M cells,
#: 1.6 MB on ML-100K): a lookup there is several times faster than a binary search among the rated
#: pairs, and halves the time to sample an epoch's negatives on ML-100K (measured on the 2-core CPU).
DENSE_LOOKUP_LIMIT = 50_000_000


class NegativeSampler:
    """Uniform negative movies for users, vectorised.

    With ``exclude_positives=True`` a sampled movie that the user rated in training is re-drawn
    (the rejection loop touches only the collisions, a few percent on ML-100K).
    """

    def __init__(self, train_users, train_items, num_items: int, exclude_positives: bool = True):
        self.num_items = num_items
        self.exclude_positives = exclude_positives
        users = torch.tensor(np.asarray(train_users), dtype=torch.long)
        items = torch.tensor(np.asarray(train_items), dtype=torch.long)
        positive_keys = torch.unique(users * num_items + items)  # sorted
        num_cells = (int(users.max()) + 1) * num_items if len(users) else 0
        self._rated = self._positive_keys = None
        if 0 < num_cells <= DENSE_LOOKUP_LIMIT:
            self._rated = torch.zeros(num_cells, dtype=torch.bool)  # cell u * num_items + i: u rated i
            self._rated[positive_keys] = True
        else:
            self._positive_keys = positive_keys
        if exclude_positives:
            full = torch.bincount(users, minlength=int(users.max()) + 1) >= num_items
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


def bpr_loss(positive_scores: torch.Tensor, negative_scores: torch.Tensor) -> torch.Tensor:
    """``mean(-ln σ(ŷ_ui - ŷ_uj))``, written as ``softplus(ŷ_uj - ŷ_ui)`` for numerical stability."""
    return F.softplus(negative_scores - positive_scores).mean()


def l2_on_batch(*layer0_rows: torch.Tensor) -> torch.Tensor:
    """``(1 / 2|B|) Σ ‖e^(0)‖²`` over the layer-0 embedding rows of a batch (the paper's regulariser)."""
    return sum(rows.pow(2).sum() for rows in layer0_rows) / (2 * len(layer0_rows[0]))


# ---------------------------------------------------------------------------------------------
# The training loop
# ---------------------------------------------------------------------------------------------


@dataclass
class TrainConfig:
    """Every knob of a training run.

    Args:
        epochs: passes over the training interactions.
        batch_size: (user, positive, negative) triples per optimiser step; ``None`` = the whole
            training set in one step per epoch (full batch).
        learning_rate: Adam's step size.
        weight_decay: λ, the weight of the L2 term.
        regularize: ``"batch"`` (the paper: layer-0 rows of the batch, divided by the batch size)
            or ``"tables"`` (the whole embedding tables, summed: the original tutorial's recipe).
        exclude_positives: re-draw negatives that the user rated in training.
        negatives_per_positive: negatives drawn for each positive; the BPR term averages over them
            (1 in the paper; more gives each full-graph propagation more signal for little cost).
        cosine_decay: anneal the learning rate to 0 along a cosine over the run's steps.
        eval_every: measure the ranking metric every this many epochs (0: never).
        patience: stop after this many evaluations without improvement of ``monitor``, and
            restore the best weights (``None``: never stop early).
        monitor: the metric early stopping and the history watch.
        seed: seeds the initialisation and the sampling.
    """

    epochs: int = 100
    batch_size: int | None = 4096
    learning_rate: float = 5e-3
    weight_decay: float = 1e-4
    regularize: str = "batch"
    exclude_positives: bool = True
    negatives_per_positive: int = 1
    cosine_decay: bool = False
    eval_every: int = 5
    patience: int | None = None
    monitor: str = "recall@10"
    seed: int = 0


@dataclass
class History:
    """What a run measured: one row per epoch (loss, seconds) with metrics every ``eval_every``."""

    rows: list[dict] = field(default_factory=list)
    best_epoch: int | None = None
    train_seconds: float = 0.0
    device: str = "cpu"

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows).set_index("epoch") if self.rows else pd.DataFrame()

    def seconds_to_reach(self, metric: str, value: float) -> float | None:
        """Training seconds (evaluation excluded) until ``metric`` first reached ``value``."""
        for row in self.rows:
            if row.get(metric) is not None and not math.isnan(row[metric]) and row[metric] >= value:
                return row["train_seconds"]
        return None


def train_lightgcn(
    model: LightGCN,
    normalized_adjacency: torch.Tensor,
    train_users,
    train_items,
    config: TrainConfig,
    evaluate: Callable[[LightGCN], dict] | None = None,
    device: torch.device | str | None = None,
    progress: bool = True,
) -> History:
    """Train ``model`` with BPR on the training pairs; return the :class:`History`.

    Each epoch shuffles all training interactions, draws one negative for each, and takes one
    Adam step per batch; every step propagates the whole graph once (``model.get_embedding``).
    ``evaluate(model)`` (e.g. validation Recall@10) runs every ``config.eval_every`` epochs; its
    time is not counted in ``train_seconds``.
    """
    if config.regularize not in ("batch", "tables"):
        raise ValueError(f"regularize must be 'batch' or 'tables', got {config.regularize!r}.")
    device = pick_device(device) if not isinstance(device, torch.device) else device
    seed_everything(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model.to(device)
    adjacency = normalized_adjacency.to(device)
    users = torch.tensor(np.asarray(train_users), dtype=torch.long)
    items = torch.tensor(np.asarray(train_items), dtype=torch.long)
    sampler = NegativeSampler(users, items, model.num_items, config.exclude_positives)
    optimizer = make_optimizer(model, config.learning_rate)
    batch_size = config.batch_size or len(users)
    total_steps = config.epochs * math.ceil(len(users) / batch_size)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps) if config.cosine_decay else None
    draws = config.negatives_per_positive
    batch_starts = range(0, len(users), batch_size)
    batch_sizes = [min(batch_size, len(users) - start) for start in batch_starts]
    history = History(device=str(device))
    best_value, best_state, evaluations_without_gain = -math.inf, None, 0

    bar = tqdm(range(1, config.epochs + 1), desc=f"training on {device}", disable=not progress, unit="epoch")
    for epoch in bar:
        started = time.perf_counter()
        order = torch.randperm(len(users), generator=generator)
        epoch_users, epoch_items = users[order], items[order]
        negatives = sampler.sample(epoch_users.repeat(draws), generator).view(draws, -1).T  # (N, draws)
        # One copy to the device per epoch; the steps slice it there and never wait for the host.
        epoch_users, epoch_items, negatives = (t.to(device) for t in (epoch_users, epoch_items, negatives))
        step_losses = []
        for start in batch_starts:
            batch = slice(start, start + batch_size)
            step_losses.append(training_step(model, optimizer, adjacency, epoch_users[batch], epoch_items[batch], negatives[batch], config))
            if scheduler is not None:
                scheduler.step()
        # Read once per epoch: a loss.item() per step would make the CPU wait for the GPU every step.
        step_losses = torch.stack(step_losses).tolist()
        if device.type == "cuda":
            torch.cuda.synchronize()
        history.train_seconds += time.perf_counter() - started
        total_loss = total_bpr = 0.0
        for (loss, bpr), size in zip(step_losses, batch_sizes):
            total_loss += loss * size
            total_bpr += bpr * size
        row = {"epoch": epoch, "loss": total_loss / len(users), "bpr": total_bpr / len(users),
               "train_seconds": history.train_seconds}  # fmt: skip

        if evaluate is not None and config.eval_every and (epoch % config.eval_every == 0 or epoch == config.epochs):
            model.eval()
            with torch.no_grad():
                row.update(evaluate(model))
            model.train()
            value = row.get(config.monitor, -math.inf)
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
    if best_state is not None:
        model.load_state_dict(best_state)
    return history


#: Above this many (batch user × movie) scores, a step gathers embedding rows instead (see _batch_scores).
DENSE_SCORES_LIMIT = 4_000_000


def _batch_scores(user_final: torch.Tensor, item_final: torch.Tensor, users: torch.Tensor, items: torch.Tensor) -> torch.Tensor:
    """``ŷ[n, m] = e_(users[n]) · e_(items[n, m])`` for a batch.

    Two equal ways: gather one embedding row per pair and multiply, or score each distinct user of
    the batch against every movie with one dense matrix product and pick the pairs out. The second
    is about a third faster on ML-100K's CPU steps (dense products beat scattering gradients into
    rows) but needs ``distinct users × movies`` floats, so it is used only under DENSE_SCORES_LIMIT;
    and only on the CPU, because on a GPU the host must wait to learn how many distinct users there are.
    """
    if users.device.type == "cpu":
        distinct, position = torch.unique(users, return_inverse=True)
        if len(distinct) * item_final.shape[0] <= DENSE_SCORES_LIMIT:
            all_scores = user_final.index_select(0, distinct) @ item_final.T  # (distinct users, movies)
            return all_scores[position[:, None], items]
    user_vectors = user_final.index_select(0, users).unsqueeze(1)
    item_vectors = item_final.index_select(0, items.flatten()).view(*items.shape, -1)
    return (user_vectors * item_vectors).sum(-1)


def _bpr_step(model: LightGCN, adjacency, users, positives, negatives, config: TrainConfig):
    """The loss of one batch: ``negatives`` has shape (batch,) or (batch, negatives per positive)."""
    negatives = negatives.reshape(len(users), -1)
    user_final, item_final = model.get_embedding(adjacency)
    scores = _batch_scores(user_final, item_final, users, torch.cat([positives[:, None], negatives], dim=1))  # (batch, 1 + negatives)
    bpr = bpr_loss(scores[:, :1], scores[:, 1:])
    user_table, item_table = model.user_embedding.weight, model.item_embedding.weight
    if config.regularize == "batch":
        # Σ_b ‖e_(u_b)‖² = Σ_u count_u ‖e_u‖²: the same value as l2_on_batch, without gathering rows.
        user_counts = occurrences(users, model.num_users, user_table.dtype)
        item_counts = occurrences(torch.cat([positives, negatives.flatten()]), model.num_items, item_table.dtype)
        penalty = (user_counts @ user_table.pow(2).sum(1) + item_counts @ item_table.pow(2).sum(1)) / (2 * len(users))
    else:
        penalty = user_table.pow(2).sum() + item_table.pow(2).sum()
    return bpr + config.weight_decay * penalty, bpr.detach()


def occurrences(indices: torch.Tensor, size: int, dtype: torch.dtype) -> torch.Tensor:
    """How often each of ``0 … size-1`` occurs in ``indices``: ``bincount``, which on a GPU waits
    for the host to read the largest index, done as an ``index_add_`` that does not."""
    counts = torch.zeros(size, dtype=dtype, device=indices.device)
    return counts.index_add_(0, indices, torch.ones(len(indices), dtype=dtype, device=indices.device))


def make_optimizer(model: torch.nn.Module, learning_rate: float) -> torch.optim.Optimizer:
    """Adam; on CUDA its fused form, one kernel for all parameters instead of several per parameter."""
    on_cuda = next(model.parameters()).is_cuda
    return torch.optim.Adam(model.parameters(), lr=learning_rate, fused=True if on_cuda else None)


def training_step(model: LightGCN, optimizer, adjacency, users, positives, negatives, config: TrainConfig) -> torch.Tensor:
    """One Adam step on one batch; returns ``[loss, BPR term]``, detached and left on the device."""
    loss, bpr = _bpr_step(model, adjacency, users, positives, negatives, config)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()
    return torch.stack([loss.detach(), bpr])


def ranking_monitor(evaluator: RankingEvaluator, normalized_adjacency: torch.Tensor, ks=(10,)) -> Callable[[LightGCN], dict]:
    """``evaluate(model)`` for :func:`train_lightgcn`: Recall, NDCG, ... at ``ks`` on ``evaluator``'s split."""

    def evaluate(model: LightGCN) -> dict:
        device = model.user_embedding.weight.device
        scores = embedding_scores(*model.get_embedding(normalized_adjacency.to(device)))
        return evaluator.evaluate(scores, ks)

    return evaluate


# ---------------------------------------------------------------------------------------------
# Checkpoints
# ---------------------------------------------------------------------------------------------


def checkpoint_dir() -> Path:
    """Where checkpoints live: ``$LIGHTGCN_CHECKPOINT_DIR`` if set (tests use a temporary one), else ``data/checkpoints``."""
    return Path(os.environ.get("LIGHTGCN_CHECKPOINT_DIR") or DATA_CACHE_DIR / "checkpoints")


def save_checkpoint(path: Path | str, model: LightGCN, mapping, config: TrainConfig, history: History | None = None) -> Path:
    """Save weights, the id mapping and the config, so later notebooks need not retrain."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(
        {
            "state_dict": {k: v.cpu() for k, v in model.state_dict().items()},
            "model": {"num_users": model.num_users, "num_items": model.num_items, "embedding_dim": model.embedding_dim,
                      "num_layers": model.num_layers, "init_std": model.init_std},  # fmt: skip
            "user_ids": np.asarray(mapping.user_ids),
            "item_ids": np.asarray(mapping.item_ids),
            "config": asdict(config),
            "history": None if history is None else {"rows": history.rows, "best_epoch": history.best_epoch,
                                                     "train_seconds": history.train_seconds, "device": history.device},
        },  # fmt: skip
        path,
    )
    return path


def load_checkpoint(path: Path | str, mapping=None) -> tuple[LightGCN, TrainConfig, History | None]:
    """Load a checkpoint; with ``mapping``, check that it was trained on the same users and movies."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no checkpoint at {path}. Fix: run notebook 04 (or `make run`) to train and save one.")
    saved = torch.load(path, map_location="cpu", weights_only=False)
    if mapping is not None:
        same_users = np.array_equal(saved["user_ids"], mapping.user_ids)
        same_items = np.array_equal(saved["item_ids"], mapping.item_ids)
        if not (same_users and same_items):
            raise ValueError(
                f"checkpoint {path} was trained on {len(saved['user_ids'])} users and {len(saved['item_ids'])} movies, "
                f"which differ from this data's {len(mapping.user_ids)} users and {len(mapping.item_ids)} movies "
                "(another split or dataset). Fix: retrain on this data, or load the data it was trained on."
            )
    model = LightGCN(**saved["model"])
    model.load_state_dict(saved["state_dict"])
    history = None
    if saved.get("history"):
        history = History(**saved["history"])
    return model, TrainConfig(**saved["config"]), history


# ---------------------------------------------------------------------------------------------
# Recipes
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipe:
    """A model and a training config, named, so notebooks and the benchmark share them.

    ``feature_transform`` / ``nonlinear`` switch on NGCF's pieces (:class:`utils.model.NGCFStyle`);
    ``num_layers=0`` is matrix factorisation with BPR; ``layer_weights`` sets the α_k.
    """

    name: str
    embedding_dim: int
    num_layers: int
    config: TrainConfig
    feature_transform: bool = False
    nonlinear: bool = False
    layer_weights: tuple[float, ...] | None = None

    def build_model(self, num_users: int, num_items: int) -> LightGCN:
        """A freshly initialised model, seeded by ``config.seed``."""
        seed_everything(self.config.seed)
        if self.feature_transform or self.nonlinear:
            return NGCFStyle(num_users, num_items, self.embedding_dim, self.num_layers, self.layer_weights,
                             feature_transform=self.feature_transform, nonlinear=self.nonlinear)  # fmt: skip
        return LightGCN(num_users, num_items, self.embedding_dim, self.num_layers, self.layer_weights)


#: The recipe of the tutorial this series grew from: one full-batch Adam step per epoch at lr 1e-3,
#: λ = 1e-6 on the whole embedding tables, 1000 epochs.
ORIGINAL_RECIPE = Recipe(
    "original",
    embedding_dim=64,
    num_layers=3,
    config=TrainConfig(epochs=1000, batch_size=None, learning_rate=1e-3, weight_decay=1e-6, regularize="tables", eval_every=50),
)

#: Ours, chosen on a validation split carved from ua.base (README, "How the default recipe was chosen").
DEFAULT_RECIPE = Recipe(
    "default",
    embedding_dim=64,
    num_layers=3,
    config=TrainConfig(
        epochs=90, batch_size=8192, learning_rate=2e-2, weight_decay=1e-3, negatives_per_positive=4, eval_every=5
    ),
)
