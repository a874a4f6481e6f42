"""The benchmark's structure: its contenders, its JSON lines, the ratios, and what the profiler profiles.

These tests check shapes, keys, types, orders and the consistency of the numbers with each other,
never what a timing rounds to.
"""

import dataclasses
import json
import subprocess
import sys

import pytest
import torch

from utils.lab import bench, profiling
from utils.lab.filters import FILTERS
from utils.metrics import RankingEvaluator
from utils.recipes import RECIPES
from utils.training import Trainer

DEFAULT_ORDER = ["original", "default", "pyg", "mf", "ngcf", "popular", "ease", "lgcn-ide", "gf-cf", "turbo-cf", "bspm", "on-ease"]
#: The keys of every model line (module docstring of utils.lab.bench), and those some models add.
LINE_KEYS = {
    "recipe": str, "dataset": str, "split": str, "device": str, "epochs": int, "train_seconds": float,
    "seconds_per_epoch": float, "recall@10": float, "ndcg@10": float, "precision@10": float, "hit@10": float,
    "torch": str, "threads": int, "curve": list,
}  # fmt: skip
EXTRA_KEYS = {
    "pyg": {"torch_geometric": str}, "ease": {"lambda": float},
    # The graph filters: their hyper-parameters chosen on validation (utils.lab.filters' default grids).
    "lgcn-ide": {"propagations": int}, "gf-cf": {"num_factors": int, "ideal_weight": float},
    "turbo-cf": {"normalization_exponent": float, "similarity_power": float, "polynomial": str},
    "bspm": {"num_factors": int, "ideal_weight": float, "sharpen_time": float},
}  # fmt: skip
COMPARISON_KEYS = {
    "recall@10_ratio", "ndcg@10_ratio", "seconds_to_same_recall", "speedup_to_same_recall", "recall_at_equal_time",
}  # fmt: skip
PER_STEP_KEYS = {"steps_profiled", "aten_ops"}  # on the CPU; CUDA adds launches, kernels and syncs


def run_quick_bench(capsys, data_dir, recipes: str, *options: str) -> bench.BenchRun:
    """Run ``python -m utils.lab.bench --quick`` in-process; check that it printed what it returned."""
    run = bench.main(["--quick", "--device", "cpu", "--data-dir", str(data_dir), "--recipes", recipes, *options])
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert printed == run.lines
    assert [result.recipe for result in run.results] == recipes.split(",")
    assert [line["recipe"] for line in run.lines[:-1]] == recipes.split(",")
    names = recipes.split(",")
    trained = [result for result in run.results if result.epochs > 0]
    assert set(run.lines[-1]) == ({"ratios", "best_trained_vs_ease"} if "ease" in names and trained else {"ratios"})
    for result, line in zip(run.results, run.lines):
        check_line(line, result, count_launches="--count-launches" in options)
        check_result(result)
    check_ratios(run.lines[-1]["ratios"], run.results)
    return run


def check_line(line: dict, result: bench.BenchResult, count_launches: bool) -> None:
    """The documented keys, each of its type, and the values of the result they come from."""
    contender = bench.CONTENDERS[line["recipe"]]
    expected = {**LINE_KEYS, **EXTRA_KEYS.get(contender.name, {})}
    if count_launches and contender.steps is not None:
        expected["per_step"] = dict
    assert set(line) == set(expected)
    for key, kind in expected.items():
        assert isinstance(line[key], kind), (key, line[key])
    assert line["device"] == "cpu"
    assert line["epochs"] == result.epochs == (contender.quick_epochs if contender.trains else 0)
    assert all(len(point) == 2 and all(isinstance(value, float) for value in point) for point in line["curve"])
    assert len(line["curve"]) == len(result.curve)
    for metric in bench.REPORTED_METRICS:
        assert 0 <= result.metrics[metric] <= 1
    if "per_step" in line and "error" not in line["per_step"]:
        assert set(line["per_step"]) == PER_STEP_KEYS
        assert line["per_step"]["aten_ops"] > 0


def check_result(result: bench.BenchResult) -> None:
    """A curve in training-time order that ends within the training time, at the final recall."""
    seconds = [point for point, _ in result.curve]
    assert result.train_seconds >= 0 and seconds == sorted(seconds)
    assert result.curve and seconds[-1] <= result.train_seconds
    assert result.curve[-1][1] == pytest.approx(result.recall, abs=1e-6)
    if bench.CONTENDERS[result.recipe].trains:
        # --quick evaluates every epoch, the last one included.
        assert len(result.curve) == result.epochs and seconds[-1] == result.train_seconds
    assert result.trained is None  # the bench holds no trained model once its line is printed


def check_ratios(ratios: dict, results: list[bench.BenchResult]) -> None:
    """The ratios line against what the unrounded results say."""
    by_name = {result.recipe: result for result in results}
    ours = by_name.get(bench.OURS)
    if ours is None:
        assert ratios == {}
        return
    assert list(ratios) == [name for name in by_name if name != bench.OURS]
    for name, comparison in ratios.items():
        peer = by_name[name]
        assert set(comparison) == COMPARISON_KEYS
        for metric in ("recall@10", "ndcg@10"):
            expected = ours.metrics[metric] / peer.metrics[metric] if peer.metrics[metric] > 0 else None
            assert comparison[f"{metric}_ratio"] == (None if expected is None else round(expected, 4))
        reached = [seconds for seconds, recall in ours.curve if recall >= peer.recall]
        if reached:
            assert comparison["seconds_to_same_recall"] == round(reached[0], 3)
            speedup = peer.train_seconds / reached[0] if reached[0] > 0 else None
            assert comparison["speedup_to_same_recall"] == (None if speedup is None else round(speedup, 2))
        else:
            assert comparison["seconds_to_same_recall"] is None and comparison["speedup_to_same_recall"] is None
        within = [recall for seconds, recall in ours.curve if seconds <= peer.train_seconds]
        assert comparison["recall_at_equal_time"] == {
            "seconds": round(peer.train_seconds, 3),
            "ours": round(within[-1], 6) if within else None,
            "peer": round(peer.recall, 6),
        }


# ---------------------------------------------------------------------------------------------
# The contenders and the command line
# ---------------------------------------------------------------------------------------------


def test_every_contender_is_described_once():
    assert list(bench.CONTENDERS) == DEFAULT_ORDER
    for name, contender in bench.CONTENDERS.items():
        assert contender.name == name and callable(contender.run) and contender.description
        if contender.trains:
            assert contender.quick_epochs >= 1 and contender.eval_every >= 1 and callable(contender.steps)
        else:
            assert contender.quick_epochs == 0 and contender.steps is None
    for name in ("original", "default", "mf", "ngcf"):  # ours come from the recipes' registry
        assert bench.CONTENDERS[name].epochs == RECIPES[name].config.epochs
        assert bench.CONTENDERS[name].eval_every == RECIPES[name].config.eval_every


def test_a_recipe_joins_the_bench_in_one_line():
    contender = bench.recipe_contender("lightgcn-2")
    assert contender.name == "lightgcn-2" and contender.epochs == RECIPES["lightgcn-2"].config.epochs
    assert contender.steps is bench.trainer_steps
    with pytest.raises(ValueError, match="two bench contenders"):
        bench._registry(contender, bench.recipe_contender("lightgcn-2"))


def test_recipes_keep_the_order_asked_for():
    assert bench.parse_args([]).recipes == DEFAULT_ORDER
    assert bench.parse_args(["--recipes", "ease, default,original,default"]).recipes == ["ease", "default", "original"]


def test_every_trained_contender_has_an_epochs_option():
    args = bench.parse_args(["--epochs-original", "3", "--epochs-default", "4", "--epochs-pyg", "5", "--epochs-mf", "6",
                             "--epochs-on-ease", "8"])  # fmt: skip
    assert {name: bench.epochs_for(bench.CONTENDERS[name], args) for name in DEFAULT_ORDER} == {
        "original": 3, "default": 4, "pyg": 5, "mf": 6, "ngcf": None, "popular": None, "ease": None,
        "lgcn-ide": None, "gf-cf": None, "turbo-cf": None, "bspm": None, "on-ease": 8,
    }  # fmt: skip
    quick = bench.parse_args(["--quick", "--epochs-default", "7"])
    assert bench.epochs_for(bench.CONTENDERS["default"], quick) == 7
    assert bench.epochs_for(bench.CONTENDERS["original"], quick) == bench.CONTENDERS["original"].quick_epochs


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--recipes", "default,lightgcn++"], "--recipes takes names from"),
        (["--epochs-default", "0"], "--epochs-default must be 1 or more"),
        (["--eval-every", "0"], "--eval-every must be 1 or more"),
        (["--epochs-popular", "3"], "unrecognized arguments"),
    ],
)
def test_bad_options_are_usage_errors(argv, message, capsys):
    with pytest.raises(SystemExit):
        bench.main(argv)
    assert message in capsys.readouterr().err


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
    assert "best_trained_vs_ease" not in bench.ratios_line([slow_peer, ours, better_peer])


def test_the_best_trained_model_is_compared_with_ease():
    def result(name, epochs, recall):
        return bench.BenchResult(name, "cpu", epochs, 1.0, {"recall@10": recall, "ndcg@10": recall}, [(1.0, recall)])

    ease, popular = result("ease", 0, 0.27), result("popular", 0, 0.12)
    line = bench.ratios_line([result("default", 90, 0.26), ease, popular, result("on-ease", 60, 0.28), result("mf", 75, 0.25)])
    assert line["best_trained_vs_ease"]["recipe"] == "on-ease"  # the best trained model, not the best model
    assert line["best_trained_vs_ease"]["recall@10_ratio"] == round(0.28 / 0.27, 4)
    assert "best_trained_vs_ease" not in bench.ratios_line([ease, popular])  # nothing trained


# ---------------------------------------------------------------------------------------------
# Quick runs on the synthetic dataset
# ---------------------------------------------------------------------------------------------


def test_quick_bench_of_our_recipes(synthetic_dir, capsys):
    run = run_quick_bench(capsys, synthetic_dir, "original,default")
    assert all(line["dataset"] == "ml-100k" and line["split"] == "ua" for line in run.lines[:-1])
    assert set(run.lines[-1]["ratios"]) == {"original"}


def test_quick_bench_of_the_comparison_models_and_closed_form_baselines(synthetic_dir, capsys):
    run = run_quick_bench(capsys, synthetic_dir, "default,mf,ngcf,popular,ease,on-ease")
    by_name = {result.recipe: result for result in run.results}
    for name in ("popular", "ease"):
        assert by_name[name].epochs == 0 and len(by_name[name].curve) == 1
    assert by_name["ease"].extra["lambda"] in (100.0, 250.0, 500.0, 1000.0)
    assert set(run.lines[-1]["ratios"]) == {"mf", "ngcf", "popular", "ease", "on-ease"}
    best = max((result for result in run.results if result.epochs > 0), key=lambda result: result.recall)
    assert run.lines[-1]["best_trained_vs_ease"]["recipe"] == best.recipe


def test_quick_bench_of_the_graph_filters(synthetic_dir, capsys):
    names = ["lgcn-ide", "gf-cf", "turbo-cf", "bspm"]
    run = run_quick_bench(capsys, synthetic_dir, ",".join(["default", *names]))
    by_name = {result.recipe: result for result in run.results}
    for name in names:
        assert by_name[name].epochs == 0 and len(by_name[name].curve) == 1
        grid = FILTERS[name].grid
        assert set(by_name[name].extra) == set(grid)
        assert all(by_name[name].extra[key] in values for key, values in grid.items())  # a member of its grid
    assert set(run.lines[-1]["ratios"]) == set(names)


def test_quick_bench_with_pyg(synthetic_dir, capsys):
    pytest.importorskip("torch_geometric")
    run = run_quick_bench(capsys, synthetic_dir, "default,pyg")
    assert set(run.lines[-1]["ratios"]) == {"pyg"}


def test_without_pyg_the_bench_says_how_to_install_it(monkeypatch, tmp_path):
    # None in sys.modules makes every import of these modules fail, as when PyG is not installed.
    for module in [name for name in sys.modules if name.split(".")[0] == "torch_geometric"] + ["torch_geometric"]:
        monkeypatch.setitem(sys.modules, module, None)
    with pytest.raises(SystemExit, match="pip install -r requirements-bench.txt"):
        bench.main(["--recipes", "default,pyg", "--data-dir", str(tmp_path)])  # fails before reading any data


def test_dataset_option_on_a_synthetic_ml1m_folder(tmp_path, capsys):
    folder = tmp_path / "ml-1m"
    command = [sys.executable, "-m", "utils.datasets.synthetic", "--format", "ml-1m", "--out", str(folder)]
    written = subprocess.run(command, capture_output=True, text=True)  # noqa: S603 (our own module, fixed arguments)
    if written.returncode != 0:
        pytest.skip(f"utils.datasets.synthetic cannot write the ML-1M format yet: {written.stderr.strip().splitlines()[-1:]}")
    run = bench.main(["--quick", "--device", "cpu", "--dataset", "ml-1m", "--data-dir", str(folder),
                      "--recipes", "default,mf,popular"])  # fmt: skip
    printed = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.strip()]
    assert printed == run.lines
    for result, line in zip(run.results, run.lines):
        assert line["dataset"] == "ml-1m" and line["split"] == result.split
        check_line(line, result, count_launches=False)
        check_result(result)
    check_ratios(run.lines[-1]["ratios"], run.results)


# ---------------------------------------------------------------------------------------------
# Profiling and warm-up
# ---------------------------------------------------------------------------------------------


def test_count_launches_profiles_the_trainer_that_was_measured(monkeypatch, capsys, synthetic_dir):
    # Every fit, every step and every evaluation, in order, with the Trainer each belongs to.
    events = []
    real_fit, real_step, real_evaluate = Trainer.fit, Trainer.step, RankingEvaluator.evaluate

    def fit(self, *args, **kwargs):
        history = real_fit(self, *args, **kwargs)
        events.append(("fitted", self))
        return history

    monkeypatch.setattr(Trainer, "fit", fit)
    monkeypatch.setattr(Trainer, "step", lambda self, *args: events.append(("step", self)) or real_step(self, *args))
    monkeypatch.setattr(RankingEvaluator, "evaluate", lambda self, *a, **k: events.append(("evaluate", None)) or real_evaluate(self, *a, **k))
    run = run_quick_bench(capsys, synthetic_dir, "default,mf,ngcf,popular", "--count-launches")

    by_name = {line["recipe"]: line for line in run.lines[:-1]}
    assert "per_step" not in by_name["popular"]  # nothing to step through
    counts = {name: by_name[name]["per_step"] for name in ("default", "mf", "ngcf")}
    assert all(per_step["steps_profiled"] == bench.PROFILED_STEPS for per_step in counts.values())
    # Each propagation layer adds operators, and NGCF's weights and non-linearity add more.
    assert counts["mf"]["aten_ops"] < counts["default"]["aten_ops"] < counts["ngcf"]["aten_ops"]

    trainers = [trainer for kind, trainer in events if kind == "fitted"]
    assert len(trainers) == 3 and len(set(map(id, trainers))) == 3
    for trainer in trainers:
        after_fit = events[events.index(("fitted", trainer)) + 1 :]
        # The final metrics, then the profiler's warm-up call and its profiled call, all steps of
        # this very trainer (and so of its model, the one that was scored).
        assert after_fit[0] == ("evaluate", None)
        profiled = after_fit[1 : 1 + 2 * bench.PROFILED_STEPS]
        assert profiled == [("step", trainer)] * (2 * bench.PROFILED_STEPS)
    stepped = {id(trainer) for kind, trainer in events if kind == "step"}
    assert stepped == set(map(id, trainers))  # no other copy of a setup took a step


def test_profiling_after_training_leaves_the_metrics_alone(capsys, synthetic_dir):
    plain = run_quick_bench(capsys, synthetic_dir, "default")
    profiled = run_quick_bench(capsys, synthetic_dir, "default", "--count-launches")
    assert profiled.results[0].metrics == plain.results[0].metrics
    assert [recall for _, recall in profiled.results[0].curve] == [recall for _, recall in plain.results[0].curve]


def test_count_launches_profiles_pygs_trained_loop(monkeypatch, capsys, synthetic_dir):
    pytest.importorskip("torch_geometric")
    from utils.lab.pyg_example import PygTraining

    trained, real_epoch = [], PygTraining.train_epoch
    monkeypatch.setattr(PygTraining, "train_epoch", lambda self: trained.append(self) or real_epoch(self))
    run = run_quick_bench(capsys, synthetic_dir, "pyg", "--count-launches")
    per_step = run.lines[0]["per_step"]
    # One object trained every epoch: the timed ones, then the profiler's two (warm-up and profiled).
    assert len({id(training) for training in trained}) == 1
    assert len(trained) == bench.CONTENDERS["pyg"].quick_epochs + 2
    assert per_step["steps_profiled"] == len(trained[0].loader) and per_step["aten_ops"] > 0


def test_count_per_step_divides_by_the_steps_taken():
    # Five steps of two additions each; only the profiled call counts.
    def run_steps():
        x = torch.zeros(3)
        for _ in range(5):
            x = (x + 1).add(2)
        return 5

    assert profiling.count_per_step(run_steps, torch.device("cpu")) == {"steps_profiled": 5, "aten_ops": 2.0 + 1 / 5}


def test_warm_up_trains_only_the_contenders_that_train(synthetic):
    evaluator = RankingEvaluator.from_dataset(synthetic)
    calls = []

    def counting(contender):
        def run(*args):
            calls.append((contender.name, args[-2:]))
            return contender.run(*args)

        return dataclasses.replace(contender, run=run)

    contenders = [counting(bench.CONTENDERS[name]) for name in ("default", "popular", "mf")]
    bench.warm_up_contenders(contenders, synthetic, evaluator, torch.device("cpu"))
    assert calls == [("default", (1, 1)), ("mf", (1, 1))]  # one epoch each, the closed-form ones skipped


def test_a_failing_profiler_is_reported_in_the_line_not_fatal(monkeypatch, capsys, synthetic_dir):
    def broken(run_steps, device):
        raise RuntimeError("CUPTI could not be loaded")

    monkeypatch.setattr(bench, "count_per_step", broken)
    run = run_quick_bench(capsys, synthetic_dir, "default,mf", "--count-launches")
    for line in run.lines[:-1]:
        assert line["per_step"] == {"error": "the profiler failed: CUPTI could not be loaded"}
