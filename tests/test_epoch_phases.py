"""Where an epoch's time goes: the phase-by-phase epoch takes the very steps a Trainer's epoch takes."""

import copy

import numpy as np
import torch

from utils.graph import normalized_bipartite_adjacency
from utils.lab.profiling import PHASES, _one_epoch_by_phase, epoch_phases
from utils.models import LightGCN
from utils.training import TrainConfig, Trainer


def _trainer(seed=0) -> Trainer:
    rng = np.random.default_rng(seed)
    users = np.concatenate([np.arange(20), rng.integers(20, size=180)])
    items = rng.integers(29, size=200)
    adjacency = normalized_bipartite_adjacency(users, items, 20, 30)
    torch.manual_seed(0)
    config = TrainConfig(batch_size=64, epochs=2, eval_every=0)
    return Trainer(LightGCN(20, 30, embedding_dim=8, num_layers=2), adjacency, users, items, config, device="cpu")


def test_an_epoch_by_phase_updates_the_model_as_a_whole_epoch_does():
    whole, by_phase = _trainer(), _trainer()
    start = copy.deepcopy(whole.model.state_dict())
    by_phase.model.load_state_dict(start)
    whole.run_epoch()
    seconds = _one_epoch_by_phase(by_phase)
    assert set(seconds) == set(PHASES) and all(value > 0 for value in seconds.values())
    for (name, mine), theirs in zip(by_phase.model.named_parameters(), whole.model.parameters()):
        assert not torch.allclose(mine, start[name])  # the epoch moved the weights
        assert torch.allclose(mine, theirs, atol=1e-6)  # ...and both epochs moved them alike


def test_epoch_phases_reports_every_phase_and_the_whole_epoch_of_each_trainer():
    medians = epoch_phases({"a": _trainer(), "b": _trainer(1)}, repeats=3)
    assert list(medians) == ["a", "b"]
    for phases in medians.values():
        assert list(phases) == [*PHASES, "epoch"] and all(value > 0 for value in phases.values())
