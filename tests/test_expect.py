"""`utils.notebook.expect`: a sentence of the text checked against the run, strict in the saved run."""

import pytest

from utils.notebook import CLAIM_NOTE, expect


def test_a_claim_that_holds_prints_nothing(capsys, monkeypatch):
    monkeypatch.setenv("LIGHTGCN_CHECK_CLAIMS", "1")
    assert expect(0.26 > 0.12, "LightGCN is ahead of the most-popular list") is True
    assert capsys.readouterr().out == ""


def test_a_claim_that_fails_in_a_readers_run_prints_a_note_and_goes_on(capsys, monkeypatch):
    monkeypatch.delenv("LIGHTGCN_CHECK_CLAIMS", raising=False)
    assert expect(False, "EASE is ahead by more than the noise") is False
    printed = capsys.readouterr().out
    assert printed.startswith(CLAIM_NOTE) and "EASE is ahead by more than the noise" in printed


def test_a_claim_that_fails_in_the_saved_run_stops_it(monkeypatch):
    monkeypatch.setenv("LIGHTGCN_CHECK_CLAIMS", "1")
    with pytest.raises(AssertionError, match="The text says EASE is ahead"):
        expect(False, "EASE is ahead")


def test_a_misspelt_switch_is_an_error_not_a_silent_default(monkeypatch):
    monkeypatch.setenv("LIGHTGCN_CHECK_CLAIMS", "ture")
    with pytest.raises(ValueError, match="LIGHTGCN_CHECK_CLAIMS is 'ture'"):
        expect(False, "anything")
