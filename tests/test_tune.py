"""Hyper-parameter runs: they train on the fit part, score on the validation part, never read the test split."""

import json

import pandas as pd
import pytest

from utils.data import load_movielens, validation_split
from utils.graph import normalized_bipartite_adjacency
from utils.lab import tune
from utils.metrics import RankingEvaluator
from utils.recipes import RECIPES
from utils.training import ranking_monitor, train_model

SETTINGS = {"epochs": 2, "eval_every": 1, "batch_size": 1024, "num_layers": 1}


def test_tune_reports_what_training_on_the_fit_part_measures_on_validation(synthetic_dir, capsys):
    lines = tune.main([json.dumps(SETTINGS), "--recipe", "mf", "--data-dir", str(synthetic_dir)])
    assert [json.loads(line) for line in capsys.readouterr().out.splitlines()] == lines
    (line,) = lines
    assert (line["recipe"], line["dataset"], line["split"], line["config"]) == ("mf", "ml-100k", "ua", SETTINGS)
    # The same run, by hand: the mf recipe with these settings, on the fit part, scored on validation.
    dataset = load_movielens(synthetic_dir, download=False)
    fit, validation = validation_split(dataset.train, per_user=5, seed=0)
    users, items = fit["user_index"].to_numpy(), fit["item_index"].to_numpy()
    adjacency = normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items)
    recipe = RECIPES["mf"].with_config(epochs=2, eval_every=1, batch_size=1024).with_model_args(num_layers=1)
    model = recipe.build_model(dataset.num_users, dataset.num_items)
    monitor = ranking_monitor(RankingEvaluator.from_dataset(dataset, train=fit, test=validation), adjacency)
    frame = train_model(model, adjacency, users, items, recipe.config, evaluate=monitor, device="cpu", progress=False).to_frame()
    assert line["validation_recall@10"] == round(frame["recall@10"].max(), 4)
    assert line["best_epoch"] == frame["recall@10"].idxmax()
    assert line["last_recall@10"] == round(frame["recall@10"].iloc[-1], 4)


def test_tune_never_reads_the_test_split(synthetic_dir, monkeypatch, capsys):
    first = tune.main([json.dumps(SETTINGS), "--data-dir", str(synthetic_dir)])
    real_loader = tune.dataset_from_args

    def without_test(*args, **kwargs):
        dataset = real_loader(*args, **kwargs)
        return type(dataset)(**{**dataset.__dict__, "test": dataset.test.iloc[:0]})

    monkeypatch.setattr(tune, "dataset_from_args", without_test)
    second = tune.main([json.dumps(SETTINGS), "--data-dir", str(synthetic_dir)])

    # Everything but wall-clock time must be identical (a busy machine changes the seconds).
    def untimed(lines):
        return [{key: value for key, value in line.items() if "seconds" not in key} for line in lines]

    assert untimed(second) == untimed(first)
    assert all(any("seconds" in key for key in line) for line in first)  # the timing key is really what is left out


def test_tune_rejects_unknown_and_invalid_settings_before_training(synthetic_dir):
    with pytest.raises(SystemExit, match="unknown setting"):
        tune.main(['{"learnin_rate": 0.1}', "--data-dir", str(synthetic_dir)])
    with pytest.raises(SystemExit, match="not a JSON object"):
        tune.main(["{lr: 1}", "--data-dir", str(synthetic_dir)])
    with pytest.raises(SystemExit, match="monitor must be"):
        tune.main(['{"epochs": 1}', '{"monitor": "recal@10"}', "--data-dir", "/nonexistent"])  # checked before any data is read


def test_tune_on_another_dataset(tmp_path, capsys):
    from utils.datasets.synthetic import write_synthetic

    folder = write_synthetic("ml-1m", tmp_path / "ml-1m", num_users=120, num_items=150)
    (line,) = tune.main([json.dumps({"epochs": 1, "eval_every": 1}), "--dataset", "ml-1m", "--data-dir", str(folder)])
    assert (line["dataset"], line["split"]) == ("ml-1m", "random") and 0 <= line["validation_recall@10"] <= 1


def test_several_seeds_are_read_off_their_mean_curve(synthetic_dir):
    settings = {"epochs": 3, "eval_every": 1, "batch_size": 1024}
    (line,) = tune.main([json.dumps(settings), "--seeds", "0,1", "--data-dir", str(synthetic_dir)])
    dataset = load_movielens(synthetic_dir, download=False)
    fit, validation = validation_split(dataset.train, per_user=5, seed=0)
    recipe = RECIPES["default"].with_config(**settings)
    curves = [tune.validation_curve(recipe.with_config(seed=seed), dataset, fit, validation, "cpu")["recall@10"] for seed in (0, 1)]
    assert not curves[0].equals(curves[1])  # two seeds really differ
    mean = (curves[0] + curves[1]) / 2
    assert (line["seeds"], line["best_epoch"]) == ([0, 1], mean.idxmax())
    assert line["validation_recall@10"] == round(mean.max(), 4)
    assert line["validation_recall@10_std"] == round(float(pd.Series([c[mean.idxmax()] for c in curves]).std()), 4)
    with pytest.raises(SystemExit, match="--seeds takes whole numbers"):
        tune.main([json.dumps(settings), "--seeds", "0,x", "--data-dir", str(synthetic_dir)])
