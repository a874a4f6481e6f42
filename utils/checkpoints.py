"""Saving a trained model with its ids and config, and loading it back safely.

A checkpoint records the model's registered name (:data:`utils.models.MODELS`) and its
constructor arguments, so it rebuilds the class it was saved from, and refuses a name it does not
know. It holds only tensors and plain Python values and is read with ``torch.load(...,
weights_only=True)``: a checkpoint passed between students cannot run code when it is opened.
"""

from __future__ import annotations

import os
import pickle
import tempfile
import uuid
import zipfile
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch

from utils.data import DATA_CACHE_DIR, DEFAULT_DATASET, get_dataset
from utils.models import MODELS, BPRModel, model_class
from utils.training import History, TrainConfig

#: Written into every checkpoint; a file without it was not saved by :func:`save_checkpoint`.
CHECKPOINT_FORMAT = "lightgcn-movies checkpoint"
CHECKPOINT_VERSION = 2


class CheckpointError(ValueError):
    """A checkpoint file that cannot be used; the message says why and how to fix it."""


def checkpoint_dir() -> Path:
    """Where checkpoints live: ``$LIGHTGCN_CHECKPOINT_DIR`` if set (tests use a temporary one), else ``data/checkpoints``."""
    return Path(os.environ.get("LIGHTGCN_CHECKPOINT_DIR") or DATA_CACHE_DIR / "checkpoints")


def checkpoint_path(dataset: str = DEFAULT_DATASET, split: str | None = None, recipe: str = "default") -> Path:
    """The checkpoint of ``recipe`` trained on ``dataset``'s ``split`` (default: the dataset's own):
    ``<recipe>_<dataset>_<split>.pt``."""
    split = split or get_dataset(dataset).default_split
    return checkpoint_dir() / f"{recipe}_{dataset}_{split}.pt"


def check_writable(path: Path | str, fix: str) -> Path:
    """Create the folder of the checkpoint ``path`` and write a scratch file in it, before any training.

    A :class:`CheckpointError` that says why and ends with ``fix`` (how to save elsewhere) if it fails.
    """
    path = Path(path)
    if path.is_dir():
        raise CheckpointError(f"cannot save a checkpoint at {path}: it is a folder; a checkpoint is a file. Fix: {fix}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".probe"):
            pass
    except PermissionError:
        raise CheckpointError(f"cannot save a checkpoint at {path}: no permission to write in {path.parent}. Fix: {fix}") from None
    except (FileExistsError, NotADirectoryError):
        blocking = next(folder for folder in path.parents if folder.exists())  # the nearest that exists is no folder
        raise CheckpointError(f"cannot save a checkpoint at {path}: {blocking} is not a folder. Fix: {fix}") from None
    except OSError as error:
        why = f"{error.strerror}: {error.filename}" if error.strerror and error.filename else str(error)
        raise CheckpointError(f"cannot save a checkpoint at {path} ({why}). Fix: {fix}") from None
    return path


def save_checkpoint(path: Path | str, model: BPRModel, mapping, config: TrainConfig, history: History | None = None,
                    *, dataset: str | None = None, split: str | None = None) -> Path:  # fmt: skip
    """Save the weights, the model's class and arguments, the id mapping and the config.

    The file is written beside ``path`` under a temporary name and renamed into place, so an
    interrupted save leaves the previous checkpoint (or none), never a truncated one.
    """
    if not type(model).registry_name or MODELS.get(type(model).registry_name) is not type(model):
        raise CheckpointError(f"{type(model).__name__} is not a registered model. Fix: decorate it with @register_model('name').")
    contents = {
        "format": CHECKPOINT_FORMAT,
        "version": CHECKPOINT_VERSION,
        "model": {"name": type(model).registry_name, "args": model.constructor_args()},
        "state_dict": {name: tensor.detach().cpu() for name, tensor in model.state_dict().items()},
        "user_ids": torch.as_tensor(np.asarray(mapping.user_ids, dtype=np.int64)),
        "item_ids": torch.as_tensor(np.asarray(mapping.item_ids, dtype=np.int64)),
        "dataset": dataset,
        "split": split,
        "config": asdict(config),
        "history": None if history is None else {"rows": history.rows, "best_epoch": history.best_epoch,
                                                 "train_seconds": history.train_seconds, "device": history.device},
    }  # fmt: skip
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # In the same folder, so on the same file system, where a rename is atomic.
    partial = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.partial")
    try:
        with open(partial, "xb") as file:  # a plain open: the file gets the permissions the umask gives
            torch.save(contents, file)
            file.flush()
            os.fsync(file.fileno())  # on disk before the rename makes it the checkpoint
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
    return path


def _unusable(path: Path, why: str) -> CheckpointError:
    return CheckpointError(
        f"{path} is not a checkpoint this series can use: {why}\n"
        "Fix: delete it and train again (notebook 04, `make run`, or `python -m utils.recommend`, which trains "
        "when no checkpoint exists), or pass the checkpoint file you meant."
    )


def load_checkpoint(path: Path | str, mapping=None) -> tuple[BPRModel, TrainConfig, History | None]:
    """Load a checkpoint; with ``mapping``, check that it was trained on the same users and movies.

    Raises :class:`FileNotFoundError` for a missing file and :class:`CheckpointError` for a file
    that is truncated, foreign, of an unknown model, or of other data.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(
            f"no checkpoint at {path}. Fix: run notebook 04 (or `make run`) to train and save one, "
            "or `python -m utils.recommend`, which trains the default recipe when there is none."
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError, EOFError, zipfile.BadZipFile, OSError, ValueError, TypeError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else ""
        raise _unusable(path, f"it could not be read safely ({type(error).__name__}: {first_line[:200]}); it may be "
                              "truncated, saved by another program, or saved by an older version of this series.") from None  # fmt: skip
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise _unusable(path, "it does not carry this series' checkpoint format.")
    if saved.get("version") != CHECKPOINT_VERSION:
        raise _unusable(path, f"it is version {saved.get('version')!r}, this code reads version {CHECKPOINT_VERSION}.")
    name = saved["model"]["name"]
    try:
        model_class(name)
    except KeyError:
        raise CheckpointError(
            f"{path} holds a model called {name!r}, which this code does not know (registered: {', '.join(sorted(MODELS))}). "
            "Fix: import the module that registers it before loading, or retrain."
        ) from None
    user_ids, item_ids = saved["user_ids"].numpy(), saved["item_ids"].numpy()
    if mapping is not None and not (np.array_equal(user_ids, mapping.user_ids) and np.array_equal(item_ids, mapping.item_ids)):
        raise CheckpointError(
            f"checkpoint {path} was trained on {len(user_ids)} users and {len(item_ids)} movies, "
            f"which differ from this data's {len(mapping.user_ids)} users and {len(mapping.item_ids)} movies "
            f"(another split or dataset; it was saved for {saved.get('dataset')!r}, split {saved.get('split')!r}). "
            "Fix: retrain on this data, or load the data it was trained on."
        )
    try:
        model = model_class(name)(**saved["model"]["args"])
        model.load_state_dict(saved["state_dict"])
        config = TrainConfig(**saved["config"])
    except (TypeError, ValueError, RuntimeError, KeyError) as error:
        raise _unusable(path, f"its contents do not rebuild a {name!r} model ({type(error).__name__}: {str(error)[:300]}).") from None
    history = History(**saved["history"]) if saved.get("history") else None
    return model, config, history


def _same_training(model: BPRModel, config: TrainConfig, recipe) -> str | None:
    """Why a loaded model is not ``recipe``'s training (None when it is): model, arguments, config."""
    if type(model).registry_name != recipe.model:
        return f"it holds a {type(model).registry_name!r} model, not {recipe.model!r}"
    args = model.constructor_args()
    differing = {name: args.get(name) for name, value in recipe.model_args.items() if args.get(name) != value}
    if differing:
        return f"its model arguments differ ({differing}, the recipe: { {n: recipe.model_args[n] for n in differing} })"
    # How often training evaluated does not change the weights; everything else in the config does.
    saved, wanted = asdict(config), asdict(recipe.config)
    differing = [name for name in wanted if name != "eval_every" and saved.get(name) != wanted[name]]
    if differing:
        return "it was trained with " + ", ".join(f"{name}={saved.get(name)!r}" for name in differing) + \
            " where the recipe says " + ", ".join(f"{name}={wanted[name]!r}" for name in differing)
    return None


def load_or_train(recipe, data, adjacency, path: Path | str | None = None, *, progress: bool = True):
    """``recipe``'s model trained on ``data``'s training ratings: loaded from its checkpoint when that
    holds exactly this training, else trained now (saying why) and saved there.

    This is how a notebook reuses notebook 04's model: a checkpoint of another recipe, of fewer
    epochs, or of other data is never taken for the full default training; and only the registry's
    own recipe (:data:`utils.recipes.RECIPES`) is saved, so a shortened run never replaces it.
    Returns the model (on the CPU, in eval mode), its config and its history.
    """
    from utils.training import train_model

    path = Path(path) if path else checkpoint_path(data.name, data.split, recipe.name)
    try:
        model, config, history = load_checkpoint(path, data.mapping)
        why = _same_training(model, config, recipe)
    except (FileNotFoundError, CheckpointError) as error:
        why = str(error).splitlines()[0]
    if why is None:
        print(f"loaded {path.name}: the {recipe.name} recipe, {config.epochs} epochs ({recipe.description})")
        return model.cpu().eval(), config, history
    from utils.recipes import RECIPES

    # The file keeps the registry's own recipe only: a shortened run (a reader's EPOCHS, the tests'
    # quick setting) trains and answers but never replaces notebook 04's full training.
    full = RECIPES.get(recipe.name) == recipe
    if full:  # checked before the training, so that a folder it cannot write costs no training
        check_writable(path, fix="point LIGHTGCN_CHECKPOINT_DIR at a folder you can write, or pass a checkpoint path.")
    print(f"not loading {path.name}: {why}. Training the {recipe.name} recipe now ({recipe.config.epochs} epochs)"
          + (" and saving it there." if full else f"; not saved there, as it is not the full {recipe.name} recipe."))  # fmt: skip
    users, items = data.train_pairs()
    model, config = recipe.build_model(data.num_users, data.num_items), recipe.config.replace(eval_every=0)
    history = train_model(model, adjacency, users, items, config, progress=progress)
    if full:
        save_checkpoint(path, model, data.mapping, config, history, dataset=data.name, split=data.split)
    return model.cpu().eval(), config, history
