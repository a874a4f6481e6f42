r"""Which "similar movies" are really similar: item–item similarity methods and measures of them.

Every method gives a dense movies × movies matrix ``S`` (row = the query movie; the caller drops
the diagonal). With the 0/1 training matrix :math:`R` (users × movies), movie degrees
:math:`d_i` and co-rating counts :math:`c_{ij} = (R^\top R)_{ij}`:

* ``embedding cosine``: cosine of the trained LightGCN movie embeddings;
* ``centered cosine``: the same after removing the embeddings' common (popularity) direction
  (what :meth:`utils.recommend.Recommender.similar_movies` does);
* ``co-occurrence cosine``: :math:`c_{ij} / \sqrt{d_i d_j}`;
* ``normalized co-occurrence``: :math:`\tilde P = \tilde R^\top \tilde R`, :math:`\tilde R = D_U^{-1/2} R D_I^{-1/2}`
  (:mod:`utils.lab.filters`);
* ``EASE``: EASE's item–item weights :math:`B` (:mod:`utils.baselines`).

:func:`measure` scores each method's top-``k`` neighbours by genre agreement against a
popularity-matched chance baseline, by co-rating lift on the held-out test ratings (which no
method saw), and by how popular the neighbours are. ``python -m utils.lab.similarity`` runs it on the
default checkpoint (it never trains).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

import numpy as np
import pandas as pd
import torch

from utils.baselines import choose_ease_regularization, ease_item_weights
from utils.lab.filters import ItemGraph

#: A query movie needs this many training ratings: rarer movies have too little data to judge.
MIN_QUERY_RATINGS = 20
#: A neighbour must have this many training ratings (what a "similar movies" list may show).
MIN_CANDIDATE_RATINGS = 5
#: Neighbours per query movie.
NEIGHBOURS = 10
#: "Star Wars everywhere": how many of the most-rated movies count as the blockbusters.
MOST_RATED = 10
#: A chance neighbour is drawn among the 2w + 1 candidates nearest in popularity rank to the real one.
POPULARITY_WINDOW = 25
#: Chance draws per (movie, neighbour) pair, to make the baseline's own noise small.
CHANCE_DRAWS = 20


def embedding_cosine(item_embeddings) -> torch.Tensor:
    r""":math:`S_{ij} = e_i^\top e_j / (\lVert e_i\rVert \lVert e_j\rVert)`, in float64."""
    normalized = torch.nn.functional.normalize(torch.as_tensor(item_embeddings, dtype=torch.float64), dim=1)
    return normalized @ normalized.T


def centered_cosine(item_embeddings) -> torch.Tensor:
    r"""Cosine after projecting out the mean direction :math:`\hat m = \bar e / \lVert\bar e\rVert`:
    :math:`e_i' = e_i - (e_i^\top \hat m)\,\hat m`, then :func:`embedding_cosine`.

    Why a projection rather than only subtracting the mean: in a trained LightGCN the mean is
    nearly parallel to the top principal direction, and a movie's component along it grows with
    its popularity (notebook 05 measures both). Subtracting the mean only shifts that axis, so the
    most-rated movies stay close to each other; projecting it out removes the offset *and* that
    spread, and also centres the embeddings (:math:`\bar e' = 0`).
    """
    embeddings = torch.as_tensor(item_embeddings, dtype=torch.float64)
    direction = torch.nn.functional.normalize(embeddings.mean(0), dim=0)
    return embedding_cosine(embeddings - torch.outer(embeddings @ direction, direction))


def cooccurrence_cosine(train_users, train_items, num_users: int, num_items: int) -> torch.Tensor:
    r""":math:`S_{ij} = c_{ij} / \sqrt{d_i d_j}`: :math:`X^\top X` for :math:`X = R D_I^{-1/2}` (0 for unrated movies)."""
    return ItemGraph(train_users, train_items, num_users, num_items, model="co-occurrence cosine").item_gram(0.0, -0.5)


def normalized_cooccurrence(train_users, train_items, num_users: int, num_items: int) -> torch.Tensor:
    r""":math:`S_{ij} = \tilde P_{ij} = \sum_u R_{ui} R_{uj} / (d_u \sqrt{d_i d_j})`: also down-weights prolific users."""
    return ItemGraph(train_users, train_items, num_users, num_items, model="normalized co-occurrence").normalized_item_item


def ease_weights(train_users, train_items, num_users: int, num_items: int, regularization: float = 250.0) -> torch.Tensor:
    r"""EASE's :math:`B = I - P\,\mathrm{diag}(1/\mathrm{diag} P)`, :math:`P = (R^\top R + \lambda I)^{-1}`, zero diagonal.

    Not symmetric: row ``i`` holds :math:`B_{ij}`, how much rating movie ``i`` adds to movie ``j``'s
    EASE score, i.e. the movies EASE would recommend to someone who rated only ``i``.
    """
    return ease_item_weights(train_users, train_items, num_users, num_items, regularization)


#: Every method by name, with one signature: ``(train_users, train_items, num_users, num_items, item_embeddings)``.
SIMILARITIES: dict[str, Callable[..., torch.Tensor]] = {
    "embedding cosine": lambda users, items, num_users, num_items, embeddings: embedding_cosine(embeddings),
    "centered cosine": lambda users, items, num_users, num_items, embeddings: centered_cosine(embeddings),
    "co-occurrence cosine": lambda users, items, num_users, num_items, embeddings: cooccurrence_cosine(users, items, num_users, num_items),
    "normalized co-occurrence": lambda users, items, num_users, num_items, embeddings: normalized_cooccurrence(users, items, num_users, num_items),
    "EASE": lambda users, items, num_users, num_items, embeddings: ease_weights(users, items, num_users, num_items),
}  # fmt: skip


def neighbours(similarity, k: int, candidates_mask) -> np.ndarray:
    """``(I, k)`` indices of each movie's ``k`` most similar candidates, itself excluded, best first."""
    scores = torch.as_tensor(similarity, dtype=torch.float64).clone()
    candidates = torch.as_tensor(np.asarray(candidates_mask, dtype=bool))
    if not 1 <= k < int(candidates.sum()):
        raise ValueError(f"k must lie in 1..{int(candidates.sum()) - 1} (the candidates minus the movie itself), got {k}.")
    scores[:, ~candidates] = -torch.inf
    scores.fill_diagonal_(-torch.inf)
    return torch.topk(scores, k, dim=1).indices.numpy()


def genre_agreement_per_query(queries, neighbour_table, genre_matrix) -> np.ndarray:
    """For each query, the share of its neighbours (a row of ``neighbour_table``) sharing at least one genre with it."""
    genres = np.asarray(genre_matrix, dtype=bool)
    return (genres[np.asarray(queries)][:, None, :] & genres[neighbour_table]).any(axis=2).mean(axis=1)


def genre_agreement(queries, neighbour_table, genre_matrix) -> float:
    """Share of (query, neighbour) pairs with at least one genre in common; ``neighbour_table`` is ``(len(queries), k)``."""
    return float(genre_agreement_per_query(queries, neighbour_table, genre_matrix).mean())


def popularity_matched(queries, neighbour_table, degrees, candidates_mask, seed: int = 0, draws: int = CHANCE_DRAWS,
                       window: int = POPULARITY_WINDOW) -> np.ndarray:  # fmt: skip
    """``(len(queries), k * draws)`` chance neighbours: for each real neighbour, a candidate drawn
    uniformly among the ``2 * window + 1`` nearest to it in training-degree rank (neither the query
    nor the neighbour itself), so that the chance pairs are as popular as the real ones. At the
    top of the ranking the window cannot be centred and is coarser in degree (ranks 0 to 2w)."""
    rng = np.random.default_rng(seed)
    candidates = np.flatnonzero(candidates_mask)
    by_degree = candidates[np.argsort(np.asarray(degrees)[candidates], kind="stable")]
    width = min(2 * window + 1, len(by_degree))
    if width < 3:
        raise ValueError(f"chance neighbours need at least 3 candidates (the query and neighbour excluded), got {len(by_degree)}.")
    rank = np.empty(int(np.max(by_degree)) + 1, dtype=np.int64)
    rank[by_degree] = np.arange(len(by_degree))
    real = np.repeat(np.asarray(neighbour_table), draws, axis=1)
    query = np.broadcast_to(np.asarray(queries)[:, None], real.shape)
    start = np.clip(rank[real] - width // 2, 0, len(by_degree) - width)  # the window slides in at both ends
    chance = by_degree[start + rng.integers(0, width, real.shape)]
    while (clash := (chance == query) | (chance == real)).any():  # redraw the few that hit either movie
        chance[clash] = by_degree[start[clash] + rng.integers(0, width, int(clash.sum()))]
    return chance


def corating_counts(queries, neighbour_table, test_users, test_items, num_users: int, num_items: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Per query: the test co-ratings of its (query, neighbour) pairs, :math:`\sum_n c_{qn}`, and what
    independence predicts from the test popularities, :math:`\sum_n c_q c_n / U_{test}` (counts of the
    test ratings only; :math:`U_{test}` the users with a test rating)."""
    graph = ItemGraph(test_users, test_items, num_users, num_items, model="co-rating lift")
    together, alone = graph.item_gram(0.0, 0.0).numpy(), graph.item_degrees.numpy()
    query = np.broadcast_to(np.asarray(queries)[:, None], np.shape(neighbour_table))
    test_user_count = int((graph.user_degrees > 0).sum())
    observed = together[query, neighbour_table].sum(axis=1)
    expected = (alone[query] * alone[neighbour_table]).sum(axis=1) / test_user_count
    return observed, expected


def corating_lift(queries, neighbour_table, test_users, test_items, num_users: int, num_items: int) -> float:
    r"""Observed over expected test co-ratings of all pairs: :math:`\sum c_{qn} / (\sum c_q c_n / U_{test})`
    (:func:`corating_counts` summed over the queries)."""
    observed, expected = corating_counts(queries, neighbour_table, test_users, test_items, num_users, num_items)
    return float(observed.sum() / expected.sum())


def training_degrees(dataset) -> np.ndarray:
    """Each movie's number of distinct training users."""
    return np.bincount(dataset.train.drop_duplicates(["user_index", "item_index"])["item_index"], minlength=dataset.num_items)


def per_query(methods: Mapping[str, object], dataset, k: int = NEIGHBOURS, seed: int = 0,
              window: int = POPULARITY_WINDOW) -> dict[str, pd.DataFrame]:  # fmt: skip
    """``{method: one row per query movie}``: the share of its ``k`` neighbours sharing a genre with it
    and the same share for popularity-matched chance neighbours (:func:`popularity_matched`), its
    observed and expected test co-ratings (:func:`corating_counts`), and its neighbours' median
    training ratings and how many are among the :data:`MOST_RATED` most rated. Queries and
    candidates by :data:`MIN_QUERY_RATINGS` and :data:`MIN_CANDIDATE_RATINGS` training ratings."""
    degrees = training_degrees(dataset)
    queries, candidates = np.flatnonzero(degrees >= MIN_QUERY_RATINGS), degrees >= MIN_CANDIDATE_RATINGS
    genre_matrix = dataset.items.set_index("item_id").loc[dataset.mapping.item_id(np.arange(dataset.num_items)), dataset.genres].to_numpy(bool)
    test = dataset.test[dataset.test["item_index"] >= 0]  # a movie unseen in training has no index
    test_pairs = test["user_index"].to_numpy(), test["item_index"].to_numpy(), dataset.num_users, dataset.num_items
    most_rated = np.argsort(-degrees, kind="stable")[:MOST_RATED]
    frames = {}
    for name, similarity in methods.items():
        table = neighbours(similarity, k, candidates)[queries]
        chance = popularity_matched(queries, table, degrees, candidates, seed, window=window)
        observed, expected = corating_counts(queries, table, *test_pairs)
        chance_observed, chance_expected = corating_counts(queries, chance, *test_pairs)
        frames[name] = pd.DataFrame({
            "query": queries, "genre share": genre_agreement_per_query(queries, table, genre_matrix),
            "chance genre share": genre_agreement_per_query(queries, chance, genre_matrix),
            "co-ratings": observed, "expected co-ratings": expected,
            "chance co-ratings": chance_observed, "chance expected co-ratings": chance_expected,
            "median neighbour ratings": np.median(degrees[table], axis=1), "query ratings": degrees[queries],
            "most-rated neighbours": np.isin(table, most_rated).sum(axis=1),
        }).set_index("query")  # fmt: skip
    return frames


def summarize(frame: pd.DataFrame, k: int = NEIGHBOURS) -> dict:
    """One method's measures over all its queries (a frame of :func:`per_query`)."""
    genres, chance_genres = frame["genre share"].mean(), frame["chance genre share"].mean()
    return {
        "genre agreement": genres, "chance genre agreement": chance_genres, "genre agreement / chance": genres / chance_genres,
        "test co-rating lift": frame["co-ratings"].sum() / frame["expected co-ratings"].sum(),
        "chance co-rating lift": frame["chance co-ratings"].sum() / frame["chance expected co-ratings"].sum(),
        "median neighbour ratings": float(np.median(frame["median neighbour ratings"])),
        "median query ratings": float(np.median(frame["query ratings"])),
        f"top-{MOST_RATED} most-rated share": frame["most-rated neighbours"].sum() / (k * len(frame)),
    }  # fmt: skip


def measure(methods: Mapping[str, object], dataset, k: int = NEIGHBOURS, seed: int = 0, window: int = POPULARITY_WINDOW) -> pd.DataFrame:
    """One row per method (``{name: movies × movies similarity}``): :func:`summarize` of :func:`per_query`."""
    frames = per_query(methods, dataset, k, seed, window)
    return pd.DataFrame({name: summarize(frame, k) for name, frame in frames.items()}).T.rename_axis("method")


def paired_difference(first: pd.DataFrame, second: pd.DataFrame, reps: int = 2000, seed: int = 0, confidence: float = 0.95) -> pd.DataFrame:
    """Two methods' difference in genre agreement / chance and in test co-rating lift, with percentile
    bootstrap intervals: each resample draws the query movies with replacement and recomputes both
    methods' ratios on the same draw (paired, like :func:`utils.lab.analysis.paired_bootstrap`)."""
    if not first.index.equals(second.index):
        raise ValueError("the two methods were measured on different query movies; measure them in one per_query call.")
    columns = ["genre share", "chance genre share", "co-ratings", "expected co-ratings"]
    a, b = first[columns].to_numpy(np.float64), second[columns].to_numpy(np.float64)

    def ratios(values):  # (..., queries, 4) -> genre ratio and lift, summed over the queries
        totals = values.sum(axis=-2)
        return np.stack([totals[..., 0] / totals[..., 1], totals[..., 2] / totals[..., 3]], axis=-1)

    draws = np.random.default_rng(seed).integers(len(a), size=(reps, len(a)))
    resampled = ratios(a[draws]) - ratios(b[draws])
    low, high = np.quantile(resampled, [(1 - confidence) / 2, (1 + confidence) / 2], axis=0)
    return pd.DataFrame({"difference": ratios(a) - ratios(b), "low": low, "high": high},
                        index=["genre agreement / chance", "test co-rating lift"])


def main() -> None:
    """``python -m utils.lab.similarity``: the measures on ML-100K ``ua`` (found as :func:`utils.data.find_dataset`
    does, e.g. ``$ML100K_DIR``) with the default recipe's checkpoint."""
    from utils.checkpoints import checkpoint_path, load_checkpoint
    from utils.data import load_movielens
    from utils.graph import normalized_bipartite_adjacency

    dataset = load_movielens(split="ua")
    users, items = dataset.train_pairs()
    model, _, _ = load_checkpoint(checkpoint_path(dataset.name, dataset.split), dataset.mapping)
    with torch.no_grad():
        _, embeddings = model.eval().get_embedding(normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items))
    methods = {name: build(users, items, dataset.num_users, dataset.num_items, embeddings) for name, build in SIMILARITIES.items()}
    regularization, _ = choose_ease_regularization(dataset)  # EASE with the λ it chooses on validation
    methods["EASE"] = ease_weights(users, items, dataset.num_users, dataset.num_items, regularization)
    with pd.option_context("display.width", 250, "display.max_columns", 20):
        print(measure(methods, dataset).round(3))
    candidates = training_degrees(dataset) >= MIN_CANDIDATE_RATINGS
    titles = dataset.titles(np.arange(dataset.num_items))
    for title in ("Toy Story (1995)", "Star Wars (1977)"):
        for name, similarity in methods.items():
            print(f"{title} / {name}: " + "; ".join(titles[j] for j in neighbours(similarity, 6, candidates)[titles.index(title)]))


if __name__ == "__main__":
    main()
