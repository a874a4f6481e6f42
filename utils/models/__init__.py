"""The models of the series, each one file, all behind one interface (:class:`BPRModel`) and
named in one registry (:data:`MODELS`).

* ``lightgcn``: :class:`LightGCN` (with ``num_layers=0``: MF-BPR);
* ``ngcf``: :class:`NGCFStyle`, LightGCN plus NGCF's weight matrices and non-linearity.

A new model is a module here that subclasses :class:`BPRModel` and registers itself with
``@register_model("name")``; importing it below makes it known to recipes and checkpoints.
"""

from utils.models.base import MODELS, BPRModel, FoldInError, model_class, register_model
from utils.models.lightgcn import LightGCN, propagate_once
from utils.models.ngcf import NGCFStyle

__all__ = ["MODELS", "BPRModel", "FoldInError", "LightGCN", "NGCFStyle", "model_class", "propagate_once", "register_model"]
