"""The models of the series, each one file, all behind one interface (:class:`BPRModel`) and
named in one registry (:data:`MODELS`).

* ``lightgcn``: :class:`LightGCN` (with ``num_layers=0``: MF-BPR);
* ``ngcf``: :class:`NGCFStyle`, LightGCN plus NGCF's weight matrices and non-linearity;
* ``lightgcn-softmax``: :class:`SoftmaxLightGCN`, LightGCN trained with a softmax over all movies;
* ``lightgcn-directau``: :class:`DirectAULightGCN`, LightGCN trained with DirectAU's alignment and uniformity;
* ``simgcl``: :class:`SimGCL`, LightGCN trained with BPR plus SimGCL's noise-contrastive term;
* ``lightgcn-on-ease``: :class:`LightGCNOnEASE`, LightGCN trained with BPR on top of EASE's fixed scores.

A new model is a module here that subclasses :class:`BPRModel` and registers itself with
``@register_model("name")``; importing it below makes it known to recipes and checkpoints.
"""

from utils.models.base import MODELS, BPRModel, FoldInError, model_class, register_model
from utils.models.directau import DirectAULightGCN
from utils.models.lightgcn import LightGCN, propagate_once
from utils.models.ngcf import NGCFStyle
from utils.models.on_ease import LightGCNOnEASE
from utils.models.simgcl import SimGCL
from utils.models.softmax import SoftmaxLightGCN

__all__ = ["MODELS", "BPRModel", "DirectAULightGCN", "FoldInError", "LightGCN", "LightGCNOnEASE", "NGCFStyle", "SimGCL", "SoftmaxLightGCN",
           "model_class", "propagate_once", "register_model"]
