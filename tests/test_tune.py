"""Hyper-parameter runs read the validation split only."""

import json

import pytest

from utils import tune


def test_tune_reports_validation_metrics(synthetic_dir, capsys):
    tune.main(['{"epochs": 2, "eval_every": 1, "batch_size": 1024}', '{"epochs": 2, "eval_every": 1, "num_layers": 1}', "--data-dir", str(synthetic_dir)])
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line["config"] for line in lines] == [{"epochs": 2, "eval_every": 1, "batch_size": 1024}, {"epochs": 2, "eval_every": 1, "num_layers": 1}]
    for line in lines:
        assert line["best_epoch"] in (1, 2) and 0 <= line["validation_recall@10"] <= 1


def test_tune_rejects_unknown_settings(synthetic_dir):
    with pytest.raises(SystemExit, match="unknown setting"):
        tune.main(['{"learnin_rate": 0.1}', "--data-dir", str(synthetic_dir)])
    with pytest.raises(SystemExit, match="not a JSON object"):
        tune.main(["{lr: 1}", "--data-dir", str(synthetic_dir)])
