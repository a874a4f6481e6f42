"""Shared code of the LightGCN Movie Recommendations notebooks.

One module per stage, data flowing one way:
files (:mod:`utils.data`, :mod:`utils.datasets`, :mod:`utils.datasets.synthetic`) -> graph (:mod:`utils.graph`) ->
models (:mod:`utils.models`, their loss pieces in :mod:`utils.losses`) -> training (:mod:`utils.training`)
-> named recipes (:mod:`utils.recipes`) and checkpoints (:mod:`utils.checkpoints`) -> metrics
(:mod:`utils.metrics`) -> titles (:mod:`utils.recommend`), with plots (:mod:`utils.plots`) and
notebook helpers (:mod:`utils.notebook`) beside them.
"""
