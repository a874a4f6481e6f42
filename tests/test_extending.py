"""Adding a model is one file plus one registry entry: SimGCL, defined here and nowhere else.

SimGCL (Yu et al., "Are Graph Augmentations Necessary?", SIGIR 2022) trains LightGCN with an extra
contrastive term: two propagations with small random noise added at every layer, whose views of
the same node should agree (InfoNCE). Below it is a subclass of LightGCN that overrides the loss,
registered under a name, given a recipe, and trained, evaluated and checkpointed by the series'
own loop, evaluator and checkpoint code, none of which knows about it.
"""

import torch
import torch.nn.functional as F

from utils.checkpoints import load_checkpoint, save_checkpoint
from utils.graph import normalized_bipartite_adjacency
from utils.metrics import RankingEvaluator, popularity_scores
from utils.models import MODELS, LightGCN, register_model
from utils.recipes import RECIPES, Recipe, register_recipe
from utils.training import TrainConfig, ranking_monitor, train_model


@register_model("simgcl-test")
class SimGCL(LightGCN):
    def __init__(self, *args, noise=0.1, contrastive_weight=0.05, temperature=0.2, **kwargs):
        super().__init__(*args, **kwargs)  # LightGCN's arguments: this class names only what it adds
        self.noise, self.contrastive_weight, self.temperature = noise, contrastive_weight, temperature

    def _noisy_view(self, adjacency, nodes):
        layers = [torch.cat(self.layer0_tables())]
        for _ in range(self.num_layers):
            layer = torch.sparse.mm(adjacency, layers[-1])
            layers.append(layer + self.noise * F.normalize(torch.rand_like(layer), dim=1) * torch.sign(layer))
        return F.normalize(self.combine(layers)[nodes], dim=1)

    def loss(self, adjacency, users, positives, negatives, *, weight_decay=0.0, regularize="batch"):
        total, parts = super().loss(adjacency, users, positives, negatives, weight_decay=weight_decay, regularize=regularize)
        nodes = torch.cat([users.unique(), positives.unique() + self.num_users])
        first, second = self._noisy_view(adjacency, nodes), self._noisy_view(adjacency, nodes)
        infonce = F.cross_entropy(first @ second.T / self.temperature, torch.arange(len(nodes)))
        return total + self.contrastive_weight * infonce, {**parts, "infonce": infonce.detach()}


SIMGCL = register_recipe(Recipe("simgcl-test", "simgcl-test", {"embedding_dim": 32, "num_layers": 2},
                                TrainConfig(epochs=12, batch_size=1024, learning_rate=1e-2, eval_every=4),
                                "SimGCL (test): LightGCN plus a contrastive term on noisy views"))  # fmt: skip


def test_a_model_defined_in_one_file_trains_through_the_interface_and_the_registry(synthetic, tmp_path):
    assert MODELS["simgcl-test"] is SimGCL and RECIPES["simgcl-test"] is SIMGCL
    assert SimGCL.argument_names() == (*LightGCN.argument_names(), "noise", "contrastive_weight", "temperature")
    users, items = synthetic.train_pairs()
    adjacency = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    evaluator = RankingEvaluator.from_dataset(synthetic)
    model = SIMGCL.build_model(synthetic.num_users, synthetic.num_items)
    assert isinstance(model, SimGCL) and model.embedding_dim == 32
    history = train_model(model, adjacency, users, items, SIMGCL.config, evaluate=ranking_monitor(evaluator, adjacency), device="cpu", progress=False)
    frame = history.to_frame()
    assert {"loss", "bpr", "infonce", "recall@10"} <= set(frame.columns)  # the loop records the model's own parts
    assert frame["bpr"].iloc[-1] < frame["bpr"].iloc[0]
    recall = evaluator.evaluate(model.scorer(adjacency))["recall@10"]
    assert recall > 1.1 * evaluator.evaluate(popularity_scores(items, synthetic.num_items))["recall@10"]

    path = save_checkpoint(tmp_path / "simgcl.pt", model, synthetic.mapping, SIMGCL.config, history)
    loaded, config, _ = load_checkpoint(path, synthetic.mapping)
    assert type(loaded) is SimGCL and loaded.temperature == 0.2 and config == SIMGCL.config
    assert loaded.constructor_args() == model.constructor_args() and (loaded.num_layers, loaded.embedding_dim) == (2, 32)
    assert evaluator.evaluate(loaded.scorer(adjacency))["recall@10"] == recall
