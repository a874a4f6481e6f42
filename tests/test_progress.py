"""Progress bars: live when watched, printed once and finished when outputs are saved; on/off variables."""

import pytest

from utils.progress import FinalStateBar, env_flag, progress_bar


def test_a_saved_run_prints_only_the_finished_bar(monkeypatch, capsys):
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "1")
    bar = progress_bar(range(5), desc="training", unit="epoch")
    assert isinstance(bar, FinalStateBar)
    assert list(bar) == [0, 1, 2, 3, 4]
    bar.close()  # a second close prints nothing more
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out.count("\n") == 1
    assert captured.out.startswith("training: 100%|██████████| 5/5")


def test_a_bar_left_early_shows_where_it_stopped(monkeypatch, capsys):
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "1")
    bar = progress_bar(range(10), desc="training")
    for step in bar:
        if step == 3:
            break
    bar.close()
    assert "3/10" in capsys.readouterr().out  # three steps finished when the loop was left


def test_watched_runs_get_the_live_bar(monkeypatch):
    monkeypatch.delenv("LIGHTGCN_SAVED_OUTPUT", raising=False)
    assert not isinstance(progress_bar(range(2), disable=True), FinalStateBar)
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "1")
    assert progress_bar(range(2), disable=True).__str__() is not None


@pytest.mark.parametrize(
    ("value", "expected"),
    [("1", True), ("true", True), ("YES", True), (" On ", True), ("True\n", True),
     ("0", False), ("false", False), ("No", False), (" OFF ", False), ("", False), ("  ", False)],
)  # fmt: skip
def test_on_off_variables_accept_the_usual_spellings(value, expected, monkeypatch):
    monkeypatch.setenv("LIGHTGCN_QUICK", value)
    assert env_flag("LIGHTGCN_QUICK") is expected
    assert env_flag("LIGHTGCN_QUICK", default=True) is (expected or not value.strip())  # unset or empty: the default
    monkeypatch.delenv("LIGHTGCN_QUICK")
    assert env_flag("LIGHTGCN_QUICK") is False and env_flag("LIGHTGCN_QUICK", default=True) is True


@pytest.mark.parametrize("value", ["2", "ture", "enabled", "y", "1.0", "-1", "on off"])
def test_any_other_value_is_an_error_naming_the_variable_the_value_and_the_spellings(value, monkeypatch):
    monkeypatch.setenv("LIGHTGCN_QUICK", value)
    with pytest.raises(ValueError, match=rf"LIGHTGCN_QUICK is {value!r}, .*Fix: .*1, true, yes, on .*0, false, no, off"):
        env_flag("LIGHTGCN_QUICK")


def test_the_saved_output_switch_takes_every_spelling_and_refuses_a_typo(monkeypatch):
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "yes")
    assert isinstance(progress_bar(range(2), disable=True), FinalStateBar)
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "off")
    assert not isinstance(progress_bar(range(2), disable=True), FinalStateBar)
    monkeypatch.setenv("LIGHTGCN_SAVED_OUTPUT", "yes please")
    with pytest.raises(ValueError, match="LIGHTGCN_SAVED_OUTPUT is 'yes please'"):
        progress_bar(range(2), disable=True)
