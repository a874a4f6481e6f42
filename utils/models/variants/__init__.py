"""LightGCN's variants: the NGCF-style model of the ablations and the research track's objectives.

Each module registers its class with :func:`utils.models.register_model` when imported; the core
imports them only on demand (:data:`utils.models.base.VARIANT_MODULES`).
"""
