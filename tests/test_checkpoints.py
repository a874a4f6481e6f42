"""Checkpoints: the class and arguments they record, safe loading, and every file they refuse."""

import io
import os

import numpy as np
import pytest
import torch

from utils import models
from utils.checkpoints import CheckpointError, check_writable, checkpoint_path, load_checkpoint, save_checkpoint
from utils.graph import normalized_bipartite_adjacency
from utils.models import LightGCN, NGCFStyle
from utils.training import History, TrainConfig


class Mapping:
    def __init__(self, users=5, items=7):
        self.user_ids, self.item_ids = np.arange(1, users + 1), np.arange(10, 10 + items)


def graph():
    return normalized_bipartite_adjacency([0, 1, 2, 4, 3], [1, 2, 6, 0, 3], 5, 7)


@pytest.mark.parametrize(
    "model",
    [
        LightGCN(5, 7, embedding_dim=4, num_layers=2, layer_weights=[0.5, 0.3, 0.2]),
        LightGCN(5, 7, embedding_dim=4, num_layers=0),
        NGCFStyle(5, 7, embedding_dim=4, num_layers=2),
        NGCFStyle(5, 7, embedding_dim=4, num_layers=2, feature_transform=False),
        models.SoftmaxLightGCN(5, 7, embedding_dim=4, num_layers=1, temperature=0.5, cosine=True),
        models.DirectAULightGCN(5, 7, embedding_dim=4, num_layers=2, uniformity_weight=0.5),
        models.SimGCL(5, 7, embedding_dim=4, num_layers=2, noise_magnitude=0.2, contrastive_weight=0.1),
        models.LightGCNOnEASE(5, 7, embedding_dim=4, num_layers=2, ease_weight=0.5, ease_regularization=2.0),
    ],
    ids=["lightgcn", "mf", "ngcf", "ngcf-no-w", "softmax", "directau", "simgcl", "on-ease"],
)
def test_round_trip_rebuilds_the_same_class_and_embeddings(model, tmp_path):
    history = History(rows=[{"epoch": 1, "loss": 0.7, "bpr": 0.69, "train_seconds": 0.1, "recall@10": 0.2}], best_epoch=1, train_seconds=0.1)
    config = TrainConfig(epochs=3, learning_rate=0.01)
    path = save_checkpoint(tmp_path / "model.pt", model, Mapping(), config, history, dataset="ml-100k", split="ua")
    loaded, loaded_config, loaded_history = load_checkpoint(path, Mapping())
    assert type(loaded) is type(model) and loaded.constructor_args() == model.constructor_args()
    assert list(loaded.constructor_args()) == ["num_users", "num_items", *type(model).argument_names()]  # every argument
    for ours, theirs in zip(model.get_embedding(graph()), loaded.get_embedding(graph())):
        torch.testing.assert_close(ours, theirs, rtol=0, atol=0)
    users = torch.arange(5)
    torch.testing.assert_close(model.scorer(graph())(users), loaded.scorer(graph())(users), rtol=0, atol=0)
    assert loaded_config == config and loaded_history.rows == history.rows


def test_the_file_loads_with_weights_only(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig())
    saved = torch.load(path, weights_only=True)  # plain types and tensors only
    assert saved["model"]["name"] == "lightgcn" and saved["model"]["args"]["num_layers"] == 1


def test_other_data_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig(), dataset="ml-100k", split="ua")
    with pytest.raises(CheckpointError, match="(?s)differ from this data.*'ml-100k', split 'ua'"):
        load_checkpoint(path, Mapping(users=4))
    with pytest.raises(FileNotFoundError, match="run notebook 04"):
        load_checkpoint(tmp_path / "missing.pt")


def test_truncated_and_foreign_files_are_clear_errors(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig())
    truncated = tmp_path / "truncated.pt"
    truncated.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="(?s)could not be read safely.*Fix: delete it and train again"):
        load_checkpoint(truncated)
    text = tmp_path / "notes.pt"
    text.write_text("not a checkpoint")
    with pytest.raises(CheckpointError, match="could not be read safely"):
        load_checkpoint(text)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(CheckpointError, match="does not carry this series' checkpoint format"):
        load_checkpoint(other)


class RunsCode:
    def __reduce__(self):
        return (print, ("this must never run",))


def test_a_file_that_would_run_code_is_refused_unopened(tmp_path, capsys):
    path = tmp_path / "malicious.pt"
    torch.save({"format": "lightgcn-movies checkpoint", "payload": RunsCode()}, path)
    with pytest.raises(CheckpointError, match="could not be read safely"):
        load_checkpoint(path)
    assert "this must never run" not in capsys.readouterr().out


def test_unknown_model_names_and_unregistered_classes_are_refused(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig())
    saved = torch.load(path, weights_only=True)
    saved["model"]["name"] = "gcmc"
    torch.save(saved, path)
    with pytest.raises(CheckpointError, match="model called 'gcmc', which this code does not know"):
        load_checkpoint(path)

    class Unregistered(LightGCN):
        pass

    Unregistered.registry_name = "lightgcn"  # inherited name, but the registry holds LightGCN under it
    with pytest.raises(CheckpointError, match="not a registered model"):
        save_checkpoint(tmp_path / "x.pt", Unregistered(5, 7, 4, 1), Mapping(), TrainConfig())


def test_weights_of_another_shape_are_a_clear_error(tmp_path):
    path = save_checkpoint(tmp_path / "model.pt", NGCFStyle(5, 7, 4, 2), Mapping(), TrainConfig())
    saved = torch.load(path, weights_only=True)
    saved["model"]["args"]["feature_transform"] = False  # the weights hold matrices this model lacks
    torch.save(saved, path)
    with pytest.raises(CheckpointError, match="do not rebuild a 'ngcf' model"):
        load_checkpoint(path)


def test_checkpoint_names_hold_recipe_dataset_and_split(monkeypatch, tmp_path):
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path))
    assert checkpoint_path("ml-1m", "random", "mf") == tmp_path / "mf_ml-1m_random.pt"
    assert checkpoint_path() == tmp_path / "default_ml-100k_ua.pt"


def test_an_interrupted_save_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig(epochs=3))
    umask = os.umask(0)
    os.umask(umask)
    assert path.stat().st_mode & 0o777 == 0o666 & ~umask  # the permissions of a file opened plainly, not a temp file's 0600
    real_save = torch.save

    def interrupted(contents, file):  # half of the bytes written, then Ctrl-C
        buffer = io.BytesIO()
        real_save(contents, buffer)
        file.write(buffer.getvalue()[: len(buffer.getvalue()) // 2])
        raise KeyboardInterrupt

    monkeypatch.setattr(torch, "save", interrupted)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(path, LightGCN(5, 7, 4, 1), Mapping(), TrainConfig(epochs=9))
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "new.pt", LightGCN(5, 7, 4, 1), Mapping(), TrainConfig(epochs=9))
    assert [entry.name for entry in tmp_path.iterdir()] == ["model.pt"]  # no partial file, no new.pt
    assert load_checkpoint(path, Mapping())[1].epochs == 3


def test_an_unwritable_place_is_found_before_training_with_the_fix(tmp_path):
    (tmp_path / "a_file").write_text("not a folder")
    with pytest.raises(CheckpointError, match=r"cannot save a checkpoint at .*a_file/ckpt/m\.pt: .*a_file is not a folder\. Fix: go elsewhere"):
        check_writable(tmp_path / "a_file" / "ckpt" / "m.pt", fix="go elsewhere")
    with pytest.raises(CheckpointError, match=r"m\.pt: it is a folder.*Fix: go elsewhere"):
        (tmp_path / "m.pt").mkdir()
        check_writable(tmp_path / "m.pt", fix="go elsewhere")
    assert check_writable(tmp_path / "new" / "deeper" / "m.pt", fix="") == tmp_path / "new" / "deeper" / "m.pt"
    assert list((tmp_path / "new" / "deeper").iterdir()) == []  # the folder is made, the probe is gone
    if os.geteuid() != 0:  # root writes anywhere
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o500)
        with pytest.raises(CheckpointError, match=r"no permission to write in .*locked\. Fix: go elsewhere"):
            check_writable(locked / "m.pt", fix="go elsewhere")


def test_load_or_train_takes_only_the_recipes_own_training_and_retrains_otherwise(synthetic, tmp_path, capsys):
    """Notebooks 05, 07 and 10 reuse notebook 04's model this way: a checkpoint of fewer epochs (the
    tests' quick run of 04), of other model arguments or of another model is retrained, saying why;
    only the registry's own recipe is saved, so a shortened run never replaces the full one."""
    from utils.checkpoints import load_or_train
    from utils.recipes import DEFAULT_RECIPE

    users, items = synthetic.train_pairs()
    adjacency = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    path = tmp_path / "default.pt"
    shorter = DEFAULT_RECIPE.with_config(epochs=1)

    load_or_train(shorter, synthetic, adjacency, path, progress=False)
    printed = capsys.readouterr().out
    assert "not loading default.pt: no checkpoint" in printed and "not saved there" in printed
    assert not path.exists()

    save_checkpoint(path, shorter.build_model(synthetic.num_users, synthetic.num_items), synthetic.mapping,
                    shorter.config, dataset=synthetic.name, split=synthetic.split)
    model, config, _ = load_or_train(DEFAULT_RECIPE, synthetic, adjacency, path, progress=False)
    printed = capsys.readouterr().out
    assert f"it was trained with epochs=1 where the recipe says epochs={DEFAULT_RECIPE.config.epochs}" in printed
    assert "and saving it there" in printed and config.epochs == DEFAULT_RECIPE.config.epochs

    again, _, _ = load_or_train(DEFAULT_RECIPE, synthetic, adjacency, path, progress=False)
    assert capsys.readouterr().out.startswith(f"loaded default.pt: the default recipe, {DEFAULT_RECIPE.config.epochs} epochs")
    assert torch.equal(again.user_embedding.weight, model.user_embedding.weight)

    load_or_train(DEFAULT_RECIPE.with_model_args(embedding_dim=16), synthetic, adjacency, path, progress=False)
    assert "its model arguments differ ({'embedding_dim': 64}" in capsys.readouterr().out
