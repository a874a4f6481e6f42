"""The comparison runner and the analysis helpers, on the synthetic dataset."""

import numpy as np
import pytest
import torch

from utils.baselines import choose_ease_regularization, ease_scores
from utils.graph import normalized_bipartite_adjacency
from utils.lab import ablations, analysis
from utils.metrics import RankingEvaluator
from utils.recipes import RECIPES
from utils.training import train_model


def test_comparison_runs_every_model_and_seed(synthetic):
    recipes = {name: recipe for name, recipe in ablations.comparison_recipes().items() if name in ("MF-BPR (0 layers, own recipe)", "NGCF-style (W + LeakyReLU)")}
    results, models = ablations.run_comparison(synthetic, recipes, seeds=(0, 1), epochs=2, device="cpu", progress=False, ease_regularization=100.0)
    assert results["model"].tolist() == ["most popular", "EASE"] + ["MF-BPR (0 layers, own recipe)"] * 2 + ["NGCF-style (W + LeakyReLU)"] * 2
    assert results["recall@10"].between(0, 1).all() and results["train_seconds"].ge(0).all()
    assert set(models) == set(recipes) and models["MF-BPR (0 layers, own recipe)"].num_layers == 0
    table = ablations.summarize(results)
    assert list(table.index) == ["most popular", "EASE", "MF-BPR (0 layers, own recipe)", "NGCF-style (W + LeakyReLU)"]
    mf = results[results.model == "MF-BPR (0 layers, own recipe)"]["recall@10"]
    assert table.loc["MF-BPR (0 layers, own recipe)", "recall@10 mean"] == pytest.approx(mf.mean())
    assert table.loc["MF-BPR (0 layers, own recipe)", "recall@10 std"] == pytest.approx(mf.std())
    assert table.loc["MF-BPR (0 layers, own recipe)", "seeds"] == 2

    # Each row is its recipe trained with that seed, as anyone would train it by hand.
    users, items = synthetic.train_pairs()
    adjacency = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    evaluator = RankingEvaluator.from_dataset(synthetic)
    for name, recipe in recipes.items():
        for seed in (0, 1):
            run = recipe.with_config(seed=seed, epochs=2, eval_every=0)
            model = run.build_model(synthetic.num_users, synthetic.num_items)
            train_model(model, adjacency, users, items, run.config, device="cpu", progress=False)
            expected = evaluator.evaluate(model.scorer(adjacency))["recall@10"]
            row = results[(results.model == name) & (results.seed == seed)]
            assert row["recall@10"].item() == pytest.approx(expected, abs=1e-12), (name, seed)
    assert results.loc[results.model == "EASE", "recall@10"].item() == pytest.approx(
        evaluator.evaluate(ease_scores(users, items, synthetic.num_users, synthetic.num_items, 100.0))["recall@10"])


def test_comparison_names_registry_recipes():
    recipes = ablations.comparison_recipes()
    assert list(recipes) == list(ablations.COMPARISON)
    assert all(recipes[display] is RECIPES[name] for display, name in ablations.COMPARISON.items())
    assert recipes["LightGCN, 3 layers"] is RECIPES["default"]


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


def test_count_quantile_bins_are_labelled_by_the_counts_they_hold():
    counts = np.array([10, 11, 23, 23, 24, 40, 55, 56, 700, 727])
    binned = analysis.count_quantile_bins(counts, 2)
    labels = list(binned.categories)
    assert labels == ["10–32", "33–727"]  # the median is 32
    # Each label's range holds exactly the counts assigned to it.
    for count, label in zip(counts, np.asarray(binned)):
        low, high = (int(x) for x in label.split("–"))
        assert low <= count <= high
    assert list(analysis.count_quantile_bins(np.array([3, 3, 3, 5]), 4).categories) == ["3", "4–5"]


def test_choose_epochs_picks_each_recipes_best_validation_epoch_and_run_comparison_uses_it(synthetic):
    recipes = {name: recipe.with_config(epochs=2) for name, recipe in ablations.comparison_recipes().items()
               if name in ("MF-BPR (0 layers, own recipe)", "LightGCN, 1 layer")}  # fmt: skip
    chosen, curves = ablations.choose_epochs(synthetic, recipes, max_epochs=6, eval_every=2, device="cpu", progress=False)
    assert set(chosen) == set(curves) == set(recipes)
    for name, curve in curves.items():
        assert list(curve.index) == [2, 4, 6]
        assert chosen[name] == curve.index[int(np.argmax(curve.to_numpy()))]  # the earliest best
    # The curve is the recipe's own run on the validation split, as one would make it by hand.
    from utils.data import validation_split
    from utils.training import ranking_monitor

    fit, validation = validation_split(synthetic.train, per_user=5, seed=0)
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    adjacency = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    run = recipes["LightGCN, 1 layer"].with_config(epochs=6, eval_every=2)
    history = train_model(run.build_model(synthetic.num_users, synthetic.num_items), adjacency, users, items, run.config,
                          evaluate=ranking_monitor(RankingEvaluator.from_dataset(synthetic, train=fit, test=validation), adjacency), device="cpu", progress=False)  # fmt: skip
    assert history.to_frame()["recall@10"].dropna().to_numpy() == pytest.approx(curves["LightGCN, 1 layer"].to_numpy(), abs=1e-12)

    results, _ = ablations.run_comparison(synthetic, recipes, seeds=(0,), epochs={"LightGCN, 1 layer": 1}, device="cpu", progress=False)
    # A dict overrides the named recipes only; the others keep their own epochs.
    assert len(results) == 2
    run = recipes["LightGCN, 1 layer"].with_config(epochs=1, eval_every=0)
    model = run.build_model(synthetic.num_users, synthetic.num_items)
    full_users, full_items = synthetic.train_pairs()
    full_adjacency = normalized_bipartite_adjacency(full_users, full_items, synthetic.num_users, synthetic.num_items)
    train_model(model, full_adjacency, full_users, full_items, run.config, device="cpu", progress=False)
    expected = RankingEvaluator.from_dataset(synthetic).evaluate(model.scorer(full_adjacency))["recall@10"]
    assert results.loc[results.model == "LightGCN, 1 layer", "recall@10"].item() == pytest.approx(expected, abs=1e-12)
