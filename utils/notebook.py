"""Helpers the notebooks share: showing the real code they run."""

from __future__ import annotations

import inspect


def show_source(*objects) -> None:
    """Display the source of functions or classes from ``utils``, syntax-highlighted.

    The notebooks explain the code they run by showing it from the module, so the text a reader
    sees is always the code that executes: there is no second copy that can drift.
    """
    from IPython.display import Code, display

    for obj in objects:
        display(Code(inspect.getsource(obj), language="python"))
