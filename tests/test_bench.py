"""The benchmark: its JSON lines, the ratios computed from them, and a clear error without PyG."""

import json
import sys

import pytest
import torch

from utils import bench

MODEL_KEYS = {
    "recipe", "device", "epochs", "train_seconds", "seconds_per_epoch",
    "recall@10", "ndcg@10", "precision@10", "hit@10", "torch", "curve",
}  # fmt: skip
COMPARISON_KEYS = {
    "recall@10_ratio", "ndcg@10_ratio", "seconds_to_same_recall", "speedup_to_same_recall", "recall_at_equal_time",
}  # fmt: skip


def run_quick_bench(capsys, data_dir, recipes: str, *options: str) -> tuple[list[dict], dict]:
    """Run ``python -m utils.bench --quick`` in-process; return the model lines and the ratios."""
    returned = bench.main(["--quick", "--device", "cpu", "--data-dir", str(data_dir), "--recipes", recipes, *options])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert printed == returned
    *models, last = printed
    assert set(last) == {"ratios"}
    return models, last["ratios"]


def check_model_line(line: dict, recipe: str) -> None:
    assert MODEL_KEYS <= set(line), MODEL_KEYS - set(line)
    assert line["recipe"] == recipe and line["device"] == "cpu"
    assert line["epochs"] == bench.QUICK_EPOCHS[recipe]
    assert line["train_seconds"] > 0
    assert line["seconds_per_epoch"] == pytest.approx(line["train_seconds"] / line["epochs"], abs=1e-3)
    for metric in ("recall@10", "ndcg@10", "precision@10", "hit@10"):
        assert 0 <= line[metric] <= 1
    # --quick evaluates every epoch: one curve point each, in training-time order, the last one final.
    assert len(line["curve"]) == line["epochs"]
    seconds = [point[0] for point in line["curve"]]
    assert seconds == sorted(seconds) and seconds[-1] == pytest.approx(line["train_seconds"], abs=1e-3)
    assert line["curve"][-1][1] == pytest.approx(line["recall@10"], abs=1e-6)


def check_comparison(comparison: dict, ours: dict, peer: dict) -> None:
    assert set(comparison) == COMPARISON_KEYS
    for metric in ("recall@10", "ndcg@10"):
        if peer[metric] > 0:
            assert comparison[f"{metric}_ratio"] == pytest.approx(ours[metric] / peer[metric], rel=1e-3)
        else:
            assert comparison[f"{metric}_ratio"] is None
    at_equal_time = comparison["recall_at_equal_time"]
    assert at_equal_time["seconds"] == peer["train_seconds"] and at_equal_time["peer"] == peer["recall@10"]
    # The JSON rounds seconds to 1e-3, so a curve point within 1e-3 of the peer's time may fall on
    # either side of it: the answer is the last point surely within, or one of those.
    rounding = 1e-3 + 1e-9  # and 0.04 - 0.039 is a hair above 1e-3 in floating point
    surely_within = [recall for seconds, recall in ours["curve"] if seconds < peer["train_seconds"] - rounding]
    either_side = [recall for seconds, recall in ours["curve"] if abs(seconds - peer["train_seconds"]) <= rounding]
    assert at_equal_time["ours"] in [surely_within[-1] if surely_within else None, *either_side]
    reached = [seconds for seconds, recall in ours["curve"] if recall >= peer["recall@10"]]
    if reached:
        assert comparison["seconds_to_same_recall"] == pytest.approx(reached[0], abs=1e-3)
        # The JSON rounds seconds to 1e-3 and the speedup to 1e-2: with --quick's tiny times the
        # ratio is only known within the bounds those roundings leave.
        low = max(peer["train_seconds"] - 5e-4, 0) / (reached[0] + 5e-4)
        high = (peer["train_seconds"] + 5e-4) / max(reached[0] - 5e-4, 1e-9)
        assert low - 5e-3 <= comparison["speedup_to_same_recall"] <= high + 5e-3
    else:
        assert comparison["seconds_to_same_recall"] is None and comparison["speedup_to_same_recall"] is None


def test_quick_bench_prints_one_line_per_model_then_consistent_ratios(synthetic_dir, capsys):
    models, ratios = run_quick_bench(capsys, synthetic_dir, "original,default")
    assert [line["recipe"] for line in models] == ["original", "default"]
    for line in models:
        check_model_line(line, line["recipe"])
    original, default = models
    assert set(ratios) == {"original"}
    check_comparison(ratios["original"], ours=default, peer=original)


def test_quick_bench_with_pyg(synthetic_dir, capsys):
    pytest.importorskip("torch_geometric")
    models, ratios = run_quick_bench(capsys, synthetic_dir, "default,pyg")
    default, pyg = models
    check_model_line(pyg, "pyg")
    assert "torch_geometric" in pyg
    check_comparison(ratios["pyg"], ours=default, peer=pyg)


def test_without_pyg_the_bench_says_how_to_install_it(monkeypatch, tmp_path):
    # None in sys.modules makes every import of these modules fail, as when PyG is not installed.
    for module in [name for name in sys.modules if name.split(".")[0] == "torch_geometric"] + ["torch_geometric"]:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(SystemExit, match="pip install -r requirements-bench.txt"):
        bench.main(["--recipes", "default,pyg", "--data-dir", str(tmp_path)])  # fails before reading any data


def test_ratios_from_hand_made_curves():
    def result(name, seconds, recall, curve):
        return bench.BenchResult(name, "cpu", 10, seconds, {"recall@10": recall, "ndcg@10": recall / 2}, curve)

    ours = result("default", 4.0, 0.30, [(1.0, 0.10), (2.0, 0.25), (3.0, 0.28), (4.0, 0.30)])
    slow_peer = result("original", 10.0, 0.20, [(10.0, 0.20)])
    better_peer = result("pyg", 2.5, 0.40, [(2.5, 0.40)])
    ratios = bench.ratios_line([slow_peer, ours, better_peer])["ratios"]
    assert ratios["original"] == {
        "recall@10_ratio": 1.5,
        "ndcg@10_ratio": 1.5,
        "seconds_to_same_recall": 2.0,  # ours first reached 0.20 at 2 s
        "speedup_to_same_recall": 5.0,  # 10 s / 2 s
        "recall_at_equal_time": {"seconds": 10.0, "ours": 0.30, "peer": 0.20},
    }
    assert ratios["pyg"]["speedup_to_same_recall"] is None  # ours never reached 0.40
    assert ratios["pyg"]["recall_at_equal_time"] == {"seconds": 2.5, "ours": 0.25, "peer": 0.40}
    assert bench.ratios_line([slow_peer])["ratios"] == {}


def test_unknown_recipe_is_a_usage_error(capsys):
    with pytest.raises(SystemExit):
        bench.main(["--recipes", "default,lightgcn++"])
    assert "--recipes takes names from" in capsys.readouterr().err


def test_comparison_models_and_closed_form_baselines(capsys, synthetic_dir):
    models, ratios = run_quick_bench(capsys, synthetic_dir, "default,mf,ngcf,popular,ease")
    by_name = {line["recipe"]: line for line in models}
    assert list(by_name) == ["default", "mf", "ngcf", "popular", "ease"]
    for name in ("mf", "ngcf"):
        check_model_line(by_name[name], name)
    for name in ("popular", "ease"):
        line = by_name[name]
        assert line["epochs"] == 0 and line["train_seconds"] >= 0 and len(line["curve"]) == 1
        assert line["curve"][0][1] == pytest.approx(line["recall@10"], abs=1e-6)
    assert by_name["ease"]["lambda"] in (100.0, 250.0, 500.0, 1000.0)
    assert set(ratios) == {"mf", "ngcf", "popular", "ease"}
    for name, comparison in ratios.items():
        check_comparison(comparison, by_name["default"], by_name[name])


def test_count_launches_profiles_the_steps_of_trained_models(capsys, synthetic_dir):
    models, _ = run_quick_bench(capsys, synthetic_dir, "default,mf,ngcf,popular", "--count-launches")
    by_name = {line["recipe"]: line for line in models}
    assert "per_step" not in by_name["popular"]  # nothing to step through
    counts = {name: by_name[name]["per_step"] for name in ("default", "mf", "ngcf")}
    for per_step in counts.values():
        assert per_step["steps_profiled"] == 10 and per_step["aten_ops"] > 0
        assert "kernel_launches" not in per_step  # GPU counts only on CUDA
    # Each propagation layer adds operators, and NGCF's weights and non-linearity add more.
    assert counts["mf"]["aten_ops"] < counts["default"]["aten_ops"] < counts["ngcf"]["aten_ops"]


def test_count_per_step_divides_by_the_steps_taken():
    # Five steps of two additions each; only the profiled call counts.
    def run_steps():
        x = torch.zeros(3)
        for _ in range(5):
            x = (x + 1).add(2)
        return 5

    assert bench.count_per_step(run_steps, torch.device("cpu")) == {"steps_profiled": 5, "aten_ops": 2.0 + 1 / 5}


def test_warm_up_steps_every_trained_model(monkeypatch, synthetic_dir):
    dataset = bench.load_movielens(synthetic_dir, download=False)
    stepped = []
    real_steps_for = bench.steps_for

    def counting_steps_for(name, *args):
        run = real_steps_for(name, *args)
        return None if run is None else (lambda: stepped.append(name) or run())

    monkeypatch.setattr(bench, "steps_for", counting_steps_for)
    bench.warm_up(["default", "popular", "mf"], dataset, torch.device("cpu"))
    assert stepped == ["default", "mf"]


def test_a_failing_profiler_is_reported_in_the_line_not_fatal(monkeypatch, capsys, synthetic_dir):
    def broken(run_steps, device):
        raise RuntimeError("CUPTI could not be loaded")

    monkeypatch.setattr(bench, "count_per_step", broken)
    models, _ = run_quick_bench(capsys, synthetic_dir, "default,mf", "--count-launches")
    for line in models:
        check_model_line(line, line["recipe"])
        assert line["per_step"] == {"error": "the profiler failed: CUPTI could not be loaded"}
