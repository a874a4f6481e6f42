"""PyG's LightGCN example (``examples/lightgcn.py``), ported step for step to our datasets.

The benchmark (:mod:`utils.lab.bench`) trains ``torch_geometric.nn.models.LightGCN`` here exactly as
PyG's own example trains it on Amazon-Book: its initialisation, its loss, its sampling, its loop
(:data:`PYG_EXAMPLE`, :func:`pyg_train_epoch`). PyG is a dependency of the benchmark only
(``requirements-bench.txt``), so it is imported when a run needs it, with an error that says how to
install it.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import torch

from utils.lab.profiling import synchronize
from utils.metrics import RankingEvaluator, embedding_scores

PYG_INSTALL_HINT = (
    "the 'pyg' recipe needs PyTorch Geometric, which is not installed.\n"
    "Fix: pip install -r requirements-bench.txt (`make bench` does it), "
    "or leave PyG out: --recipes original,default"
)


@dataclass(frozen=True)
class PygExampleRecipe:
    """How PyG's ``examples/lightgcn.py`` trains its LightGCN.

    ``LightGCN(num_nodes, embedding_dim=64, num_layers=2)`` (Xavier-uniform initialisation), Adam at
    lr 1e-3, batches of 8192 training edges shuffled by a ``DataLoader``, one uniformly random
    item per edge as the negative (an item the user rated may be drawn), and
    ``model.recommendation_loss(pos, neg, node_id=edge_label_index.unique())``: mean BPR plus
    ``lambda_reg = 1e-4`` times the squared norm of the layer-0 rows of the batch's distinct nodes,
    divided by the batch size.
    """

    embedding_dim: int = 64
    num_layers: int = 2
    batch_size: int = 8192
    learning_rate: float = 1e-3
    lambda_reg: float = 1e-4
    # The example's own count; `--epochs-pyg` runs it longer or shorter.
    epochs: int = 100
    # Not PyG's (the example evaluates every epoch): evaluation is sparse here to keep the bench short.
    eval_every: int = 25
    seed: int = 0


PYG_EXAMPLE = PygExampleRecipe()


def load_pyg_lightgcn() -> type:
    """PyG's LightGCN class, imported here because PyG is a dependency of the benchmark only."""
    try:
        from torch_geometric.nn.models import LightGCN
    except ImportError as error:
        raise ImportError(PYG_INSTALL_HINT) from error
    return LightGCN


def pyg_version() -> str:
    import torch_geometric

    return torch_geometric.__version__


class PygGraph(NamedTuple):
    """The tensors of the example's training loop, for a dataset's training split."""

    edge_index: torch.Tensor  # message passing: every training interaction, both directions
    train_edge_label_index: torch.Tensor  # the labels: the user→item edges
    num_users: int
    num_items: int


def pyg_graph(dataset, device: torch.device) -> PygGraph:
    """The graph laid out as the example gets it from Amazon-Book.

    Nodes are users ``0..U-1`` then items ``U..U+I-1`` (``HeteroData.to_homogeneous``). The
    message-passing ``edge_index`` holds every training interaction in both directions, user→item
    edges first; the training labels are the user→item edges (the example's
    ``edge_index[0] < edge_index[1]``).
    """
    users, items = (torch.tensor(array, dtype=torch.long) for array in dataset.train_pairs())
    user_to_item = torch.stack([users, items + dataset.num_users])
    edge_index = torch.cat([user_to_item, user_to_item.flip(0)], dim=1)
    return PygGraph(edge_index.to(device), user_to_item.to(device), dataset.num_users, dataset.num_items)


def pyg_train_epoch(model, optimizer, loader, graph: PygGraph, lambda_reg: float) -> float:
    """One epoch of the example's ``train()``, step for step; returns the mean loss."""
    num_users, num_items, device = graph.num_users, graph.num_items, graph.edge_index.device
    total_loss = total_examples = 0.0
    for index in loader:
        # Sample positive and negative labels (negatives uniform over all items, as in the example).
        pos_edge_label_index = graph.train_edge_label_index[:, index]
        random_items = torch.randint(num_users, num_users + num_items, (index.numel(),), device=device)
        neg_edge_label_index = torch.stack([pos_edge_label_index[0], random_items], dim=0)
        edge_label_index = torch.cat([pos_edge_label_index, neg_edge_label_index], dim=1)

        optimizer.zero_grad()
        pos_rank, neg_rank = model(graph.edge_index, edge_label_index).chunk(2)
        loss = model.recommendation_loss(pos_rank, neg_rank, node_id=edge_label_index.unique(), lambda_reg=lambda_reg)
        loss.backward()
        optimizer.step()

        # The example's float(loss): it waits for the step, as our loop's one read per epoch does.
        total_loss += loss.item() * pos_rank.numel()
        total_examples += pos_rank.numel()
    return total_loss / total_examples


@dataclass
class PygTraining:
    """The state of the example's training loop: its graph, batches, model and optimiser."""

    recipe: PygExampleRecipe
    graph: PygGraph
    loader: torch.utils.data.DataLoader
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer

    @classmethod
    def start(cls, dataset, device: torch.device, recipe: PygExampleRecipe = PYG_EXAMPLE) -> PygTraining:
        """A freshly initialised model on ``dataset``'s training split, seeded by ``recipe.seed``."""
        pyg_lightgcn = load_pyg_lightgcn()
        torch.manual_seed(recipe.seed)  # seeds the initialisation, the shuffling and the negatives
        graph = pyg_graph(dataset, device)
        num_labels, num_nodes = graph.train_edge_label_index.size(1), graph.num_users + graph.num_items
        loader = torch.utils.data.DataLoader(range(num_labels), shuffle=True, batch_size=recipe.batch_size)
        model = pyg_lightgcn(num_nodes=num_nodes, embedding_dim=recipe.embedding_dim, num_layers=recipe.num_layers)
        model = model.to(device)
        optimizer = torch.optim.Adam(model.parameters(), lr=recipe.learning_rate)
        return cls(recipe, graph, loader, model, optimizer)

    def train_epoch(self) -> float:
        """One epoch of :func:`pyg_train_epoch`; returns its mean loss."""
        return pyg_train_epoch(self.model, self.optimizer, self.loader, self.graph, self.recipe.lambda_reg)

    def run_steps(self) -> int:
        """A step runner for :func:`utils.lab.profiling.count_per_step`: one epoch; returns its steps."""
        self.train_epoch()
        return len(self.loader)

    @torch.no_grad()
    def embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The final user and item embeddings."""
        embeddings = self.model.get_embedding(self.graph.edge_index)
        return embeddings[: self.graph.num_users], embeddings[self.graph.num_users :]


@dataclass
class PygRun:
    """What :func:`run_pyg_example` measured, and the trained loop it measured it on."""

    training: PygTraining
    epochs: int
    train_seconds: float
    metrics: dict[str, float]
    curve: list[tuple[float, float]]  # (training seconds, Recall@K) every eval_every epochs


def run_pyg_example(
    dataset,
    evaluator: RankingEvaluator,
    device: torch.device,
    epochs: int | None = None,
    eval_every: int | None = None,
    recipe: PygExampleRecipe = PYG_EXAMPLE,
    ks: Sequence[int] = (10,),
) -> PygRun:
    """Train PyG's LightGCN as ``examples/lightgcn.py`` does, timing training steps only, and score it.

    The curve holds Recall@``ks[0]``; the final metrics are ``evaluator``'s at ``ks``.
    """
    epochs = epochs or recipe.epochs
    eval_every = eval_every or recipe.eval_every
    training = PygTraining.start(dataset, device, recipe)

    def evaluate() -> dict:
        return evaluator.evaluate(embedding_scores(*training.embeddings()), ks=ks)

    train_seconds, curve = 0.0, []
    for epoch in range(1, epochs + 1):
        synchronize(device)
        started = time.perf_counter()
        loss = training.train_epoch()
        synchronize(device)
        train_seconds += time.perf_counter() - started
        if not math.isfinite(loss):
            raise FloatingPointError(f"PyG's loss became {loss} at epoch {epoch}.")
        if epoch % eval_every == 0 or epoch == epochs:
            curve.append((train_seconds, evaluate()[f"recall@{ks[0]}"]))
    return PygRun(training, epochs, train_seconds, evaluate(), curve)
