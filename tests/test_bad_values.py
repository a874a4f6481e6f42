"""Values that pass argument parsing but cannot work end in one ``error:`` line that says what to fix,
before anything is written or trained: the synthetic writer's sizes and folder, the bench's threads,
and a dataset variable naming the home of a user who does not exist."""

import pytest

from utils.data import DatasetNotFoundError, find_dataset
from utils.datasets import cli, synthetic
from utils.lab import bench


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--users", "0"], r"^error: --users must be 2 or more \(the splits need two users\), got 0\. Fix: a larger number, or leave --users out"),
        (["--users", "-3"], r"^error: --users must be 2 or more .*got -3\."),
        (["--items", "5"], r"^error: --items must be 40 or more \(the genres and splits need 40\), got 5\. Fix"),
        (["--ratings", "0"], r"^error: --ratings must be 1 or more, got 0\. Fix"),
        (["--format", "ml-1m", "--users", "1"], r"^error: --users must be 2 or more"),
    ],
)  # fmt: skip
def test_synthetic_sizes_that_cannot_make_a_dataset(argv, message, tmp_path):
    with pytest.raises(SystemExit, match=message):
        synthetic.main([*argv, "--out", str(tmp_path / "out")])
    assert not (tmp_path / "out").exists()  # refused before any folder was made


def test_synthetic_folder_that_cannot_be_written(tmp_path):
    (tmp_path / "a_file").write_text("mine")
    for out, blocking in ((tmp_path / "a_file" / "x", tmp_path / "a_file"), ("/dev/null/x", "/dev/null"), (tmp_path / "a_file", tmp_path / "a_file")):
        with pytest.raises(SystemExit, match=rf"^error: cannot write into {out}: {blocking} is not a folder\. Fix: name a folder you can create"):
            synthetic.main(["--out", str(out)])
    assert (tmp_path / "a_file").read_text() == "mine"


def test_bench_threads_below_one_is_a_usage_error(capsys):
    for value in ("0", "-1"):
        with pytest.raises(SystemExit):
            bench.parse_args(["--threads", value])
        assert f"error: --threads must be 1 or more, got {value}; leave it out for torch's own choice." in capsys.readouterr().err
    assert bench.parse_args(["--threads", "2"]).threads == 2


def test_a_dataset_variable_naming_an_unknown_users_home(monkeypatch):
    """``~nosuchuser`` cannot be expanded: the variable is reported as written, as a folder that lacks the files."""
    monkeypatch.setenv("ML100K_DIR", "~nosuchuser/x")
    with pytest.raises(DatasetNotFoundError, match=r"ML100K_DIR \(~nosuchuser/x\) lacks u\.data"):
        find_dataset(download=False)
    with pytest.raises(SystemExit, match=r"(?s)^error: ML100K_DIR \(~nosuchuser/x\) lacks u\.data.*Fix: point it at"):
        cli.main([])
