"""The lab: the tooling beside the core: measurements, comparisons and the optional tracks.

Nothing in the core (``utils/*.py``, :mod:`utils.models` without its variants) imports from here.

- Benchmarks: :mod:`~utils.lab.bench` (``make bench``), :mod:`~utils.lab.profiling`,
  :mod:`~utils.lab.pyg_example` (PyG's LightGCN, the peer measured against) — notebook 08.
- Scaling: :mod:`~utils.lab.memory` (the memory model), :mod:`~utils.lab.bench_scale`
  (``make bench-scale``), :mod:`~utils.lab.distributed` (data-parallel training) — notebook 09.
- Comparisons: :mod:`~utils.lab.analysis` (paired bootstrap, count bins) and
  :mod:`~utils.lab.similarity` (item–item similarity) — notebook 05; :mod:`~utils.lab.ablations` and
  :mod:`~utils.lab.tune` — notebook 06; :mod:`~utils.lab.filters` (training-free graph filters) —
  notebook 07.
"""
