"""Progress bars: live when watched, printed once and finished when outputs are saved."""

from utils.progress import FinalStateBar, progress_bar


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
