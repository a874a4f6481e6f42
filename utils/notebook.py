"""Small helpers the notebooks share: showing the real code, reading the run settings."""

from __future__ import annotations

import inspect
import os


def show_source(*objects) -> None:
    """Display the source of functions or classes from ``utils``, syntax-highlighted.

    The notebooks explain the code they run by showing it from the module, so the text a reader
    sees is always the code that executes: there is no second copy that can drift.
    """
    from IPython.display import Code, display

    for obj in objects:
        display(Code(inspect.getsource(obj), language="python"))


def quick_mode() -> bool:
    """True when ``LIGHTGCN_QUICK=1``: CI's setting, where notebooks train briefly on small budgets."""
    return os.environ.get("LIGHTGCN_QUICK", "0") == "1"
