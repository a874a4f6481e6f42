"""Progress bars that a saved notebook shows finished, and the on/off switches read from the environment.

In Jupyter, ``tqdm.auto`` draws a widget; a notebook executed by ``make run`` and saved keeps only
the widget's first text, "0%", which is what a reader on GitHub would see. With
``LIGHTGCN_SAVED_OUTPUT=1`` (``make run`` and the notebook tests set it), :func:`progress_bar` draws
nothing while it runs and prints the bar once, in its final state, when it closes.

Every on/off variable of the series (``LIGHTGCN_SAVED_OUTPUT``, ``LIGHTGCN_QUICK``) is read by
:func:`env_flag`, so each accepts the same spellings and none mistakes a typo for "off".
"""

from __future__ import annotations

import io
import os
import sys

from tqdm.auto import tqdm as live_tqdm
from tqdm.std import tqdm as text_tqdm

#: On when outputs are saved for readers rather than watched.
SAVED_OUTPUT_VARIABLE = "LIGHTGCN_SAVED_OUTPUT"

#: The spellings :func:`env_flag` accepts, in any case and with surrounding spaces.
ON_WORDS = ("1", "true", "yes", "on")
OFF_WORDS = ("0", "false", "no", "off")


def env_flag(name: str, default: bool = False) -> bool:
    """The on/off environment variable ``name``: ``1/true/yes/on`` or ``0/false/no/off``, in any case.

    Unset or empty is ``default``. Any other value is a :class:`ValueError` naming the variable, its
    value and the accepted spellings: ``LIGHTGCN_QUICK=ture`` must not quietly mean the full run.
    """
    value = os.environ.get(name, "")
    word = value.strip().lower()
    if not word:
        return default
    if word in ON_WORDS or word in OFF_WORDS:
        return word in ON_WORDS
    raise ValueError(
        f"the environment variable {name} is {value!r}, which is neither on nor off. Fix: set it to one of "
        f"{', '.join(ON_WORDS)} (on) or {', '.join(OFF_WORDS)} (off), in any case, or unset it."
    )


class FinalStateBar(text_tqdm):
    """A text bar that writes nowhere while it runs and prints its final line to stdout on close."""

    def __init__(self, *args, **kwargs):
        kwargs["file"] = io.StringIO()
        kwargs.setdefault("ascii", False)  # the block characters, as the live bar draws them
        super().__init__(*args, **kwargs)

    def close(self):
        if not self.disable and not getattr(self, "_final_printed", False):
            self._final_printed = True
            print(self.__str__(), file=sys.stdout, flush=True)
        super().close()


def progress_bar(*args, **kwargs):
    """``tqdm.auto.tqdm`` when someone watches; a bar printed once, finished, when outputs are saved."""
    if env_flag(SAVED_OUTPUT_VARIABLE):
        return FinalStateBar(*args, **kwargs)
    return live_tqdm(*args, **kwargs)
