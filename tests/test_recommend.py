"""Recommendations in titles: known users, similar movies, new users, and every bad request."""

import numpy as np
import pytest
import torch

from utils.graph import normalized_bipartite_adjacency
from utils.model import LightGCN
from utils.recommend import RecommendationError, Recommender, main
from utils.training import TrainConfig, save_checkpoint, seed_everything, train_lightgcn


@pytest.fixture(scope="module")
def recommender(synthetic):
    users, items = synthetic.train_pairs()
    A = normalized_bipartite_adjacency(users, items, synthetic.num_users, synthetic.num_items)
    seed_everything(0)
    model = LightGCN(synthetic.num_users, synthetic.num_items, embedding_dim=32, num_layers=2)
    train_lightgcn(model, A, users, items, TrainConfig(epochs=15, batch_size=1024, learning_rate=1e-2, eval_every=0), device="cpu", progress=False)
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


def test_similar_movies_are_cosine_neighbours(recommender):
    table = recommender.similar_movies(recommender.titles[0], k=5)
    normalized = torch.nn.functional.normalize(recommender.item_embeddings, dim=1)
    cosine = (normalized @ normalized[0]).numpy()
    cosine[0] = -np.inf
    expected = [recommender.titles[i] for i in np.argsort(-cosine)[:5]]
    assert table["title"].tolist() == expected


def test_new_user_fold_in_equals_adding_the_node_to_the_graph(recommender, synthetic):
    """One propagation from the liked movies = the new user's row of a graph that contains them,
    with the movies' degrees and embeddings of the trained graph."""
    liked = [2, 7, 11]
    embedding = recommender.new_user_embedding(liked)
    degrees = recommender._item_degrees[liked]
    expected = torch.zeros_like(embedding)
    layers = recommender._layers
    for k in range(1, recommender.model.num_layers + 1):
        neighbours = layers[k - 1][synthetic.num_users :][liked]
        expected += recommender.model.layer_weights[k] * (neighbours / torch.sqrt(3 * degrees)[:, None]).sum(0)
    torch.testing.assert_close(embedding, expected)
    table = recommender.recommend_for_new_user([recommender.titles[i] for i in liked], k=5)
    assert not set(table["title"]) & {recommender.titles[i] for i in liked}


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
