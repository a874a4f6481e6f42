"""Recommendations in titles: known users, similar movies, new users, and every bad request."""

import numpy as np
import pytest
import torch

from utils.checkpoints import save_checkpoint
from utils.graph import normalized_bipartite_adjacency
from utils.lab.similarity import MIN_CANDIDATE_RATINGS
from utils.models import LightGCN, NGCFStyle
from utils.recommend import RecommendationError, Recommender, main
from utils.training import TrainConfig, seed_everything, train_model


@pytest.fixture(scope="module")
def recommender(synthetic):
    users, items = synthetic.train_pairs()
    A = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    seed_everything(0)
    model = LightGCN(synthetic.num_users, synthetic.num_items, embedding_dim=32, num_layers=2)
    train_model(model, A, users, items, TrainConfig(epochs=15, batch_size=1024, learning_rate=1e-2, eval_every=0), device="cpu", progress=False)
    return Recommender(model, A, synthetic)


def test_top_k_for_a_user_excludes_training_movies_and_marks_hits(recommender, synthetic):
    user_id = int(synthetic.mapping.user_ids[3])
    table = recommender.recommend_for_user(user_id, k=10)
    assert table["rank"].tolist() == list(range(1, 11))
    rated = set(synthetic.train.loc[synthetic.train.user_id == user_id, "item_id"])
    assert not rated & set(table["item_id"])
    test = set(synthetic.test.loc[synthetic.test.user_id == user_id, "item_id"])
    assert table["in_test"].tolist() == [i in test for i in table["item_id"]]
    assert table["score"].is_monotonic_decreasing
    titles = synthetic.items.set_index("item_id")["title"]
    assert table["title"].tolist() == [titles[i] for i in table["item_id"]]


def test_history_splits_train_and_test(recommender, synthetic):
    user_id = int(synthetic.mapping.user_ids[0])
    history = recommender.history(user_id)
    assert (history["split"] == "test").sum() == 10
    assert (history["split"] == "train").sum() == (synthetic.train.user_id == user_id).sum()


def test_title_matching(recommender, synthetic):
    title = synthetic.items["title"].iloc[5]
    index = int(synthetic.mapping.item_index([synthetic.items["item_id"].iloc[5]])[0])
    assert recommender.find_title(title) == index
    assert recommender.find_title(title.upper()) == index
    names = [t.rsplit(" (", 1)[0] for t in recommender.titles]
    unique = next(i for i, name in enumerate(names) if names.count(name) == 1)
    typo = recommender.titles[unique].replace("The ", "Teh ", 1)
    assert recommender.find_title(typo) == unique
    with pytest.raises(RecommendationError, match="no movie title matches"):
        recommender.find_title("qqqqqqqqqqqqqqqqqq")
    with pytest.raises(RecommendationError, match="empty title"):
        recommender.find_title("  ")


def test_similar_movies_are_centered_cosine_neighbours_among_rated_movies(recommender):
    """Against float64 numpy: project out the mean embedding's direction, cosine, skip the query and
    the movies with too few training ratings."""
    query = 0
    table = recommender.similar_movies(recommender.titles[query], k=5)
    embeddings = recommender.item_embeddings.double().numpy()
    direction = embeddings.mean(0) / np.linalg.norm(embeddings.mean(0))
    projected = embeddings - np.outer(embeddings @ direction, direction)
    unit = projected / np.linalg.norm(projected, axis=1, keepdims=True)
    similarity = unit @ unit[query]
    degrees = np.bincount(recommender.dataset.train.drop_duplicates(["user_index", "item_index"])["item_index"],
                          minlength=recommender.dataset.num_items)
    similarity[degrees < MIN_CANDIDATE_RATINGS] = -np.inf
    similarity[query] = -np.inf
    expected = [recommender.titles[i] for i in np.argsort(-similarity, kind="stable")[:5]]
    assert table["title"].tolist() == expected
    assert np.allclose(table["similarity"], np.sort(similarity)[::-1][:5], atol=1e-3)


def test_similar_movies_k_beyond_the_candidates_is_a_clear_error(recommender):
    with pytest.raises(RecommendationError, match="K must be"):
        recommender.similar_movies(recommender.titles[0], k=recommender.dataset.num_items)


def test_new_user_fold_in_equals_adding_the_node_to_the_graph(recommender, synthetic):
    """The new user's scores are those of a graph that holds them as one more node (zero layer-0
    embedding, edges to the liked movies), propagated in float64 without the library's code."""
    liked = [2, 7, 11]
    users, items = synthetic.train_pairs()
    U, I = synthetic.num_users, synthetic.num_items
    rows = np.concatenate([users, [U] * len(liked)])
    cols = np.concatenate([items, liked]) + U + 1
    A = np.zeros((U + 1 + I, U + 1 + I))
    A[rows, cols] = A[cols, rows] = 1.0
    degrees = A.sum(1)
    inverse_sqrt = np.where(degrees > 0, 1 / np.sqrt(np.maximum(degrees, 1)), 0.0)
    normalized = torch.tensor(inverse_sqrt[:, None] * A * inverse_sqrt[None, :])
    model = recommender.model
    E = torch.cat([model.user_embedding.weight.detach(), torch.zeros(1, model.embedding_dim), model.item_embedding.weight.detach()]).double()
    final = E / (model.num_layers + 1)
    for _ in range(model.num_layers):
        E = normalized @ E
        final = final + E / (model.num_layers + 1)
    expected_scores = final[U + 1 :] @ final[U]
    user_embedding, item_embeddings = recommender.fold_in(liked)
    torch.testing.assert_close((item_embeddings @ user_embedding).double(), expected_scores, rtol=1e-4, atol=1e-6)
    table = recommender.recommend_for_new_user([recommender.titles[i] for i in liked], k=5)
    assert not set(table["title"]) & {recommender.titles[i] for i in liked}
    expected_scores[liked] = -np.inf
    assert table["title"].tolist() == [recommender.titles[i] for i in torch.topk(expected_scores, 5).indices.tolist()]


def test_fold_in_refuses_the_ngcf_style_model(recommender, synthetic):
    ngcf = Recommender(NGCFStyle(synthetic.num_users, synthetic.num_items, 8, 2), recommender.normalized_adjacency, synthetic)
    with pytest.raises(RecommendationError, match="NGCF-style model cannot place a new user"):
        ngcf.recommend_for_new_user([recommender.titles[0]])


@pytest.mark.parametrize("device", ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU"))])
def test_the_callers_model_keeps_its_device_and_mode(recommender, synthetic, device):
    """The recommender answers from its own CPU copy in eval mode; the caller's model is left as it was."""
    seed_everything(1)
    model = LightGCN(synthetic.num_users, synthetic.num_items, embedding_dim=8, num_layers=2).to(device)
    assert model.training
    table = Recommender(model, recommender.normalized_adjacency, synthetic)
    assert model.training and model.user_embedding.weight.device.type == device
    assert table.model is not model and not table.model.training and table.model.user_embedding.weight.device.type == "cpu"
    torch.testing.assert_close(table.model.user_embedding.weight, model.user_embedding.weight.cpu(), rtol=0, atol=0)
    user_id = int(synthetic.mapping.user_ids[0])
    before = table.recommend_for_user(user_id, k=5)
    with torch.no_grad():
        model.item_embedding.weight.mul_(-1)  # the caller trains on: the recommender's answers stay
    assert table.recommend_for_user(user_id, k=5).equals(before)
    assert not torch.equal(table.model.item_embedding.weight, model.item_embedding.weight.cpu())


def test_bad_requests_are_clear_errors(recommender, synthetic):
    with pytest.raises(RecommendationError, match="unknown user id 99999.*Fix"):
        recommender.recommend_for_user(99999)
    with pytest.raises(RecommendationError, match="K must be a whole number from 1 to"):
        recommender.recommend_for_user(int(synthetic.mapping.user_ids[0]), k=0)
    with pytest.raises(RecommendationError, match="K must be"):
        recommender.recommend_for_user(int(synthetic.mapping.user_ids[0]), k=10_000)
    with pytest.raises(RecommendationError, match="no liked titles"):
        recommender.recommend_for_new_user([])
    with pytest.raises(RecommendationError, match="trained on other data"):
        Recommender(LightGCN(3, 4), recommender.normalized_adjacency, synthetic)


def test_command_line(recommender, synthetic, tmp_path, capsys, monkeypatch):
    path = save_checkpoint(tmp_path / "model.pt", recommender.model, synthetic.mapping, TrainConfig())
    user_id = int(synthetic.mapping.user_ids[0])
    main(["--user", str(user_id), "-k", "3", "--checkpoint", str(path), "--data-dir", str(synthetic.data_dir)])
    out = capsys.readouterr().out
    assert f"Top 3 for user {user_id}" in out and out.count("\n") == 4
    main(["--like", recommender.titles[0], "--checkpoint", str(path), "--data-dir", str(synthetic.data_dir)])
    assert "new user who likes" in capsys.readouterr().out
    with pytest.raises(SystemExit, match="unknown user id"):
        main(["--user", "99999", "--checkpoint", str(path), "--data-dir", str(synthetic.data_dir)])
    with pytest.raises(SystemExit, match="no checkpoint"):
        main(["--user", "1", "--checkpoint", str(tmp_path / "none.pt"), "--data-dir", str(synthetic.data_dir)])
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(path.read_bytes()[:1000])
    with pytest.raises(SystemExit, match="(?s)is not a checkpoint this series can use.*Fix"):
        main(["--user", str(user_id), "--checkpoint", str(corrupt), "--data-dir", str(synthetic.data_dir)])


def test_command_line_trains_the_default_recipe_when_there_is_no_checkpoint(synthetic, tmp_path, capsys, monkeypatch):
    from utils import recipes

    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.delenv("LIGHTGCN_SAVED_OUTPUT", raising=False)  # a live bar: stdout holds the answer only
    monkeypatch.setattr(recipes, "DEFAULT_RECIPE", recipes.DEFAULT_RECIPE.with_config(epochs=2))
    user_id = int(synthetic.mapping.user_ids[0])
    main(["--user", str(user_id), "-k", "4", "--data-dir", str(synthetic.data_dir)])
    captured = capsys.readouterr()
    assert "No checkpoint" in captured.err and "training the default recipe" in captured.err
    assert f"Top 4 for user {user_id}" in captured.out
    saved = list(tmp_path.glob("default_*_ua.pt"))
    assert len(saved) == 1
    # The second call answers from the saved checkpoint, without training.
    main(["--user", str(user_id), "-k", "4", "--data-dir", str(synthetic.data_dir)])
    again = capsys.readouterr()
    assert "No checkpoint" not in again.err and again.out == captured.out


def test_an_unwritable_checkpoint_folder_stops_the_command_before_training(synthetic, tmp_path, monkeypatch):
    from utils import training

    def no_training(*args, **kwargs):
        raise AssertionError("trained although the checkpoint could not be saved")

    monkeypatch.setattr(training, "train_model", no_training)
    (tmp_path / "a_file").write_text("")
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path / "a_file" / "checkpoints"))
    with pytest.raises(SystemExit, match=r"^error: cannot save a checkpoint at .*a_file/checkpoints/default_ml-100k_ua\.pt: "
                                         r".*a_file is not a folder\. Fix: point LIGHTGCN_CHECKPOINT_DIR at a folder you can write"):
        main(["--user", str(int(synthetic.mapping.user_ids[0])), "--data-dir", str(synthetic.data_dir)])


def test_a_save_that_fails_after_training_still_answers(synthetic, tmp_path, capsys, monkeypatch):
    from utils import checkpoints, recipes

    def disk_full(path, *args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setattr(recipes, "DEFAULT_RECIPE", recipes.DEFAULT_RECIPE.with_config(epochs=1))
    monkeypatch.setattr(checkpoints, "save_checkpoint", disk_full)
    user_id = int(synthetic.mapping.user_ids[0])
    main(["--user", str(user_id), "-k", "3", "--data-dir", str(synthetic.data_dir)])
    captured = capsys.readouterr()
    assert f"Top 3 for user {user_id}" in captured.out
    assert "warning: the trained model could not be saved" in captured.err and "No space left on device" in captured.err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.real_data
def test_real_titles_end_to_end(real):
    """The id mapping on known rows of the real data: what a user rated comes back by title."""
    users, items = real.train_pairs()
    A = normalized_bipartite_adjacency(users, items, real.num_users, real.num_items)
    recommender = Recommender(LightGCN(real.num_users, real.num_items, 8, 1), A, real)
    history = recommender.history(196)
    assert "Kolya (1996)" in set(history["title"])  # the first row of u.data: user 196 rated movie 242
    assert recommender.find_title("star wars") == int(real.mapping.item_index([50])[0])
    assert recommender.find_title("Toy Story (1995)") == int(real.mapping.item_index([1])[0])


def test_command_line_on_another_dataset(tmp_path, capsys, monkeypatch):
    from utils import recipes
    from utils.datasets.synthetic import write_synthetic

    folder = write_synthetic("ml-latest-small", tmp_path / "small", num_users=80, num_items=120)
    monkeypatch.setenv("LIGHTGCN_CHECKPOINT_DIR", str(tmp_path / "checkpoints"))
    monkeypatch.setattr(recipes, "DEFAULT_RECIPE", recipes.DEFAULT_RECIPE.with_config(epochs=1))
    main(["--user", "3", "-k", "2", "--dataset", "ml-latest-small", "--data-dir", str(folder)])
    assert "Top 2 for user 3" in capsys.readouterr().out
    assert [path.name for path in (tmp_path / "checkpoints").iterdir()] == ["default_ml-latest-small_random.pt"]
    with pytest.raises(SystemExit, match="unknown user id 99999"):
        main(["--user", "99999", "--dataset", "ml-latest-small", "--data-dir", str(folder)])
