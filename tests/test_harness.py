"""The test harness never touches a user's checkpoints and leaves nothing behind.

Each case runs a small pytest session in a subprocess with a user's ``LIGHTGCN_CHECKPOINT_DIR``
exported (holding a checkpoint of theirs): with ``-p tests.nbval_setup`` (how `make test` runs) and
with ``tests/conftest.py`` alone (a test file run by hand). The inner test saves a file where
checkpoints go and records the folders it was given.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

INNER_TEST = '''
import json, os
from utils.checkpoints import checkpoint_dir

def test_saves_a_checkpoint():
    (checkpoint_dir() / "default_ml-100k_ua.pt").write_bytes(b"the harness's 4-epoch model")
    with open(os.environ["RECORD"], "w") as record:
        json.dump({"checkpoints": str(checkpoint_dir()), "data": os.environ.get("ML100K_DIR")}, record)
'''


def run_inner_session(tmp_path: Path, plugin: str, **environment: str) -> subprocess.CompletedProcess:
    inner = tmp_path / "inner"
    inner.mkdir(exist_ok=True)
    (inner / "test_inner.py").write_text(INNER_TEST)
    variables = {name: value for name, value in os.environ.items() if name != "ML100K_DIR"}
    variables.update(PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", RECORD=str(tmp_path / "record.json"), **environment)
    command = [sys.executable, "-m", "pytest", "-p", plugin, str(inner), "-q", "-p", "no:cacheprovider", "--rootdir", str(inner)]
    return subprocess.run(command, cwd=ROOT, env=variables, capture_output=True, text=True, timeout=300, check=False)  # noqa: S603


@pytest.mark.parametrize("plugin", ["tests.nbval_setup", "tests.conftest"])
def test_a_users_checkpoint_folder_is_never_read_or_written(plugin, tmp_path):
    users = tmp_path / "users-checkpoints"
    users.mkdir()
    (users / "default_ml-100k_ua.pt").write_bytes(b"the user's 90-epoch model")
    done = run_inner_session(tmp_path, plugin, LIGHTGCN_CHECKPOINT_DIR=str(users))
    assert done.returncode == 0, done.stdout + done.stderr
    record = json.loads((tmp_path / "record.json").read_text())
    assert Path(record["checkpoints"]) != users and not Path(record["checkpoints"]).exists()  # its own, removed at the end
    assert [(path.name, path.read_bytes()) for path in users.iterdir()] == [("default_ml-100k_ua.pt", b"the user's 90-epoch model")]
    if plugin == "tests.nbval_setup":  # without ML100K_DIR it wrote a synthetic dataset, and removed it
        assert record["data"] and not Path(record["data"]).exists()


@pytest.mark.parametrize("variable", ["LIGHTGCN_QUICK", "LIGHTGCN_SAVED_OUTPUT"])
def test_an_on_off_variable_that_is_neither_stops_the_session(variable, tmp_path):
    done = run_inner_session(tmp_path, "tests.nbval_setup", **{variable: "ture"})
    assert done.returncode != 0 and not (tmp_path / "record.json").exists()
    assert f"the environment variable {variable} is 'ture', which is neither on nor off. Fix:" in done.stderr
    assert "Traceback" not in done.stderr
