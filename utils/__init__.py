"""Shared code of the LightGCN Movie Recommendations notebooks: a small core, and a lab beside it.

The core, what a student reads (data flows one way)::

    data -> graph -> models (base, lightgcn) + losses -> training -> metrics
    around them: recipes · checkpoints · recommend · baselines (most popular, EASE) · plots · notebook ·
    course · progress

Beside it, never imported by the core:

- :mod:`utils.models.variants`: NGCF-style (notebook 06) and the research objectives (10), each
  loaded the first time its name is asked for;
- :mod:`utils.datasets`: the other MovieLens formats, downloads, and the synthetic writers of the tests;
- :mod:`utils.lab`: benchmarks and profiling (08), memory, scaling and data-parallel training (09),
  ablations, tuning and statistics (05, 06), graph filters (07) and item similarity (05).

Beside both, :mod:`utils.assignments`: the checks of the graded questions (notebooks 01–05 and 07
import it; its checks compare a student's function with the core) and ``make assignments``.

Notebooks 01–04 import only the core and those checks; 05 also uses the lab's paired bootstrap
(:mod:`utils.lab.analysis`) and similarity measures (:mod:`utils.lab.similarity`), 06 the
ablations and 07 the graph filters.
"""
