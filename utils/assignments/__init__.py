"""Graded questions: the student writes the idea, a check says what is wrong.

A notebook's graded question is three kinds of cells, marked in the cell metadata under
``lightgcn`` (:data:`utils.notebook.METADATA_KEY`): the prompt (``{"question": {"name": ...,
"points": ...}}``), the solution (``{"solution": true}``: a function whose body the student writes)
and its checks (``{"test": "public"}`` or ``{"test": "hidden"}``, each a call of a function of
:mod:`utils.assignments.checks`). The notebooks in the repository are complete: the checks run
there against the solutions. ``python -m utils.assignments.build`` (``make assignments``) turns each
notebook into an otter-grader master notebook and runs ``otter assign`` on it
(:mod:`utils.assignments.build`).
"""
