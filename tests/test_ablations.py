"""The comparison runner and the analysis helpers, on the synthetic dataset."""

import dataclasses

import numpy as np
import pytest
import torch

from utils import ablations, analysis
from utils.baselines import choose_ease_regularization


def test_comparison_runs_every_model_and_seed(synthetic):
    recipes = {name: recipe for name, recipe in ablations.comparison_recipes().items() if name in ("MF-BPR (0 layers)", "NGCF-style (W + LeakyReLU)")}
    results, models = ablations.run_comparison(synthetic, recipes, seeds=(0, 1), epochs=2, device="cpu", progress=False, ease_regularization=100.0)
    assert results["model"].tolist() == ["most popular", "EASE"] + ["MF-BPR (0 layers)"] * 2 + ["NGCF-style (W + LeakyReLU)"] * 2
    assert results["recall@10"].between(0, 1).all() and results["train_seconds"].ge(0).all()
    assert set(models) == set(recipes) and models["MF-BPR (0 layers)"].num_layers == 0
    table = ablations.summarize(results)
    assert list(table.index) == ["most popular", "EASE", "MF-BPR (0 layers)", "NGCF-style (W + LeakyReLU)"]
    mf = results[results.model == "MF-BPR (0 layers)"]["recall@10"]
    assert table.loc["MF-BPR (0 layers)", "recall@10 mean"] == pytest.approx(mf.mean())
    assert table.loc["MF-BPR (0 layers)", "seeds"] == 2


def test_recipes_change_one_thing_each():
    recipes = ablations.comparison_recipes()
    assert [r.num_layers for r in recipes.values()][:5] == [0, 1, 2, 3, 4]
    ngcf = recipes["NGCF-style (W + LeakyReLU)"]
    assert (ngcf.feature_transform, ngcf.nonlinear) == (True, True)
    assert recipes["NGCF w/o feature transformation"].feature_transform is False
    assert recipes["NGCF w/o non-linearity"].nonlinear is False
    shared = dataclasses.replace(recipes["LightGCN, 3 layers"].config, epochs=0)
    assert all(dataclasses.replace(r.config, epochs=0) == shared for name, r in recipes.items() if name != "MF-BPR (0 layers)")
    assert recipes["MF-BPR (0 layers)"].config == ablations.MF_CONFIG


def test_ease_regularization_is_chosen_on_validation(synthetic):
    chosen, recall = choose_ease_regularization(synthetic, candidates=(10.0, 100.0))
    assert chosen == max(recall, key=recall.get) and set(recall) == {10.0, 100.0}


def test_analysis_helpers():
    identical = torch.ones(50, 4)
    assert analysis.mean_cosine_similarity(identical) == pytest.approx(1.0)
    coordinates, shares = analysis.pca_2d(torch.randn(100, 6) * torch.tensor([10.0, 1, 1, 1, 1, 1]))
    assert coordinates.shape == (100, 2) and shares[0] > 0.8
    per_user = np.array([0.0, 0.5, 1.0, 1.0])
    table = analysis.recall_by_user_activity(per_user, np.array([0, 1, 2, 3]), np.array([1, 2, 30, 40]), bins=2)
    assert table["mean"].tolist() == [0.25, 1.0]
