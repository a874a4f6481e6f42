"""The models of the series, all behind one interface (:class:`BPRModel`) and named in one registry.

The core, which the notebooks build by hand first:

* ``lightgcn``: :class:`LightGCN` (:mod:`utils.models.lightgcn`; with ``num_layers=0`` it is MF-BPR).

The variants, one file each in :mod:`utils.models.variants`, imported only when first asked for
(by name through :func:`model_class`, a recipe or a checkpoint, or as an attribute of this package):

* ``ngcf``: :class:`NGCFStyle`, LightGCN plus NGCF's weight matrices and non-linearity;
* ``lightgcn-softmax``: :class:`SoftmaxLightGCN`, trained with a softmax over all movies;
* ``lightgcn-directau``: :class:`DirectAULightGCN`, trained with DirectAU's alignment and uniformity;
* ``simgcl``: :class:`SimGCL`, BPR plus SimGCL's noise-contrastive term;
* ``lightgcn-on-ease``: :class:`LightGCNOnEASE`, BPR on top of EASE's fixed scores.

A new model is a subclass of :class:`BPRModel` registered with ``@register_model("name")``; a
variant of the series also gets a line in :data:`~utils.models.base.VARIANT_MODULES`.
"""

import importlib

from utils.models.base import MODELS, VARIANT_MODULES, BPRModel, FoldInError, model_class, register_model
from utils.models.lightgcn import LightGCN, propagate_once

_VARIANT_CLASSES = {
    "NGCFStyle": "ngcf",
    "SoftmaxLightGCN": "lightgcn-softmax",
    "DirectAULightGCN": "lightgcn-directau",
    "SimGCL": "simgcl",
    "LightGCNOnEASE": "lightgcn-on-ease",
}

__all__ = ["MODELS", "VARIANT_MODULES", "BPRModel", "FoldInError", "LightGCN", "model_class", "propagate_once", "register_model",
           *_VARIANT_CLASSES]  # fmt: skip


def __getattr__(name: str):
    """``utils.models.NGCFStyle`` and the other variants, imported on first use (PEP 562)."""
    if name in _VARIANT_CLASSES:
        return model_class(_VARIANT_CLASSES[name])
    if name == "variants":
        return importlib.import_module("utils.models.variants")
    raise AttributeError(f"module 'utils.models' has no attribute {name!r}")
