"""Progress bars that a saved notebook shows finished.

In Jupyter, ``tqdm.auto`` draws a widget; a notebook executed by ``make run`` and saved keeps only
the widget's first text, "0%", which is what a reader on GitHub would see. With
``LIGHTGCN_SAVED_OUTPUT=1`` (``make run`` and the notebook tests set it), :func:`progress_bar` draws
nothing while it runs and prints the bar once, in its final state, when it closes.
"""

from __future__ import annotations

import io
import os
import sys

from tqdm.auto import tqdm as live_tqdm
from tqdm.std import tqdm as text_tqdm

#: Set to "1" when outputs are saved for readers rather than watched.
SAVED_OUTPUT_VARIABLE = "LIGHTGCN_SAVED_OUTPUT"


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
    if os.environ.get(SAVED_OUTPUT_VARIABLE) == "1":
        return FinalStateBar(*args, **kwargs)
    return live_tqdm(*args, **kwargs)
