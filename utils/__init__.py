"""Shared code of the LightGCN Movie Recommendations notebooks.

One module per stage, data flowing one way:
files (:mod:`utils.data`, :mod:`utils.synthetic`) -> graph (:mod:`utils.graph`) ->
model (:mod:`utils.model`) -> training (:mod:`utils.training`) -> metrics (:mod:`utils.metrics`),
with plots (:mod:`utils.plots`) and notebook helpers (:mod:`utils.notebook`) beside them.
"""
