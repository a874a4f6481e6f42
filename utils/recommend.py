"""From scores to movie titles: top-K lists for real users, similar movies, and brand-new users.

The last stage of the series: it takes a trained :class:`~utils.model.LightGCN`, the graph it was
trained on and the :class:`~utils.data.MovieLens` split, and answers in titles.

Command line (after ``make run`` has saved a checkpoint)::

    python -m utils.recommend --user 196 -k 10
    python -m utils.recommend --like "Star Wars (1977)" --like "Fargo" -k 10
    python -m utils.recommend --similar "Toy Story (1995)"
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from utils.data import MovieLens
from utils.model import LightGCN


class RecommendationError(ValueError):
    """A request that cannot be answered as asked; the message says what to change."""


@dataclass
class Recommender:
    """A trained model with its data, ready to answer in titles.

    Args:
        model: a trained LightGCN.
        normalized_adjacency: the ``Â`` it was trained on (training split only).
        dataset: the split, for ids, titles, training and test movies.
    """

    model: LightGCN
    normalized_adjacency: torch.Tensor
    dataset: MovieLens

    def __post_init__(self):
        if (self.model.num_users, self.model.num_items) != (self.dataset.num_users, self.dataset.num_items):
            raise RecommendationError(
                f"the model has {self.model.num_users} users and {self.model.num_items} movies, the data "
                f"{self.dataset.num_users} and {self.dataset.num_items}: it was trained on other data. "
                "Fix: load the checkpoint with the split it was trained on, or retrain."
            )
        self.model = self.model.cpu().eval()
        self.normalized_adjacency = self.normalized_adjacency.cpu()
        with torch.no_grad():
            self._layers = self.model.layer_embeddings(self.normalized_adjacency)
            self.user_embeddings, self.item_embeddings = self.model.get_embedding(self.normalized_adjacency)
        self.titles = self.dataset.titles(np.arange(self.dataset.num_items))
        self._train_items = self.dataset.train.groupby("user_index")["item_index"].apply(np.array)
        self._test_items = self.dataset.test.groupby("user_index")["item_index"].apply(np.array)
        distinct = self.dataset.train.drop_duplicates(["user_index", "item_index"])
        self._item_degrees = torch.tensor(np.bincount(distinct["item_index"], minlength=self.dataset.num_items), dtype=torch.float32)

    # --- checks --------------------------------------------------------------------------------------

    def _check_k(self, k: int, available: int | None = None) -> None:
        available = self.dataset.num_items if available is None else available
        if not isinstance(k, (int, np.integer)) or not 1 <= k <= available:
            raise RecommendationError(f"K must be a whole number from 1 to {available} (the movies that can be recommended), got {k!r}.")

    def user_index(self, user_id: int) -> int:
        """The index of a MovieLens user id, or an error that says which ids exist."""
        try:
            return int(self.dataset.mapping.user_index([int(user_id)])[0])
        except (KeyError, TypeError, ValueError):
            ids = self.dataset.mapping.user_ids
            raise RecommendationError(
                f"unknown user id {user_id!r}: this split knows users {ids.min()}–{ids.max()} "
                f"({len(ids)} of them). Fix: pass a MovieLens user id from u.user, e.g. {ids[0]}."
            ) from None

    # --- a known user --------------------------------------------------------------------------------

    def recommend_for_user(self, user_id: int, k: int = 10) -> pd.DataFrame:
        """The top-K movies the user did not rate in training, best first.

        Columns: ``rank``, ``item_id``, ``title``, ``score``, and ``in_test`` (the user rated it in
        the test split: a hit).
        """
        user = self.user_index(user_id)
        rated = self._train_items.get(user, np.array([], dtype=np.int64))
        self._check_k(k, self.dataset.num_items - len(rated))
        scores = (self.user_embeddings[user] @ self.item_embeddings.T).clone()
        scores[torch.as_tensor(rated)] = -torch.inf
        top = torch.topk(scores, k).indices.numpy()
        test = set(self._test_items.get(user, np.array([])).tolist())
        return pd.DataFrame(
            {
                "rank": np.arange(1, k + 1),
                "item_id": self.dataset.mapping.item_id(top),
                "title": [self.titles[i] for i in top],
                "score": scores[top].numpy().round(3),
                "in_test": [int(i) in test for i in top],
            }
        )

    def history(self, user_id: int) -> pd.DataFrame:
        """The user's ratings: training (what the model saw) and test (held out), with titles."""
        user = self.user_index(user_id)
        frames = []
        for split, frame in (("train", self.dataset.train), ("test", self.dataset.test)):
            rows = frame[frame["user_index"] == user]
            frames.append(rows.assign(split=split))
        rows = pd.concat(frames).merge(self.dataset.items[["item_id", "title"]], on="item_id")
        return rows[["split", "item_id", "title", "rating", "timestamp"]].sort_values(["split", "rating"], ascending=[False, False]).reset_index(drop=True)

    # --- movies --------------------------------------------------------------------------------------

    def find_title(self, query: str) -> int:
        """The item index of the movie whose title best matches ``query``.

        Exact (case-insensitive) match first, then a unique substring ("star wars" finds
        "Star Wars (1977)" if no other title contains it), then the closest title by
        :func:`difflib.get_close_matches`. No close title is an error listing suggestions.
        """
        if not isinstance(query, str) or not query.strip():
            raise RecommendationError("an empty title was given. Fix: name a movie, e.g. 'Star Wars (1977)'.")
        wanted = query.strip().lower()
        lowered = [title.lower() for title in self.titles]
        if wanted in lowered:
            return lowered.index(wanted)
        containing = [i for i, title in enumerate(lowered) if wanted in title]
        if len(containing) == 1:
            return containing[0]
        if len(containing) > 1:  # several titles contain it: the most rated one is the likely meaning
            return max(containing, key=lambda i: self._item_degrees[i])
        close = difflib.get_close_matches(wanted, lowered, n=1, cutoff=0.75)
        if close:
            return lowered.index(close[0])
        suggestions = difflib.get_close_matches(wanted, lowered, n=3, cutoff=0.3)
        hint = f" Did you mean: {', '.join(self.titles[lowered.index(s)] for s in suggestions)}?" if suggestions else ""
        raise RecommendationError(f"no movie title matches {query!r} among the {len(lowered)} training movies.{hint}")

    def similar_movies(self, title: str, k: int = 10) -> pd.DataFrame:
        """Movies whose final embeddings are closest (cosine) to the named movie's."""
        self._check_k(k, self.dataset.num_items - 1)
        item = self.find_title(title)
        normalized = torch.nn.functional.normalize(self.item_embeddings, dim=1)
        similarity = (normalized @ normalized[item]).clone()
        similarity[item] = -torch.inf
        top = torch.topk(similarity, k).indices.numpy()
        return pd.DataFrame(
            {
                "rank": np.arange(1, k + 1),
                "title": [self.titles[i] for i in top],
                "cosine": similarity[top].numpy().round(3),
            }
        ).rename_axis(f"like {self.titles[item]}")

    # --- a new user ----------------------------------------------------------------------------------

    def new_user_embedding(self, liked_items: Sequence[int]) -> torch.Tensor:
        r"""Fold a new user into the graph without retraining.

        The new user ``u*`` is a node whose neighbours are the liked movies ``L``. It has no trained
        layer-0 embedding (zeros), and each layer takes the normalised sum over its neighbours of
        their previous layer, as in training (the movies' embeddings are those of the trained
        graph; the one extra edge each gains is ignored):

        .. math::

            \mathbf e_{u^*}^{(k+1)} = \sum_{i \in L} \frac{1}{\sqrt{|L|}\sqrt{d_i}}\, \mathbf e_i^{(k)},
            \qquad \mathbf e_{u^*} = \sum_{k=1}^{K} \alpha_k \mathbf e_{u^*}^{(k)}.
        """
        liked = torch.as_tensor(sorted(set(int(i) for i in liked_items)), dtype=torch.long)
        num_users = self.dataset.num_users
        degrees = torch.clamp(self._item_degrees[liked], min=1.0)
        weights = 1.0 / (torch.sqrt(torch.tensor(float(len(liked)))) * torch.sqrt(degrees))
        embedding = torch.zeros(self.item_embeddings.shape[1])
        for k in range(1, self.model.num_layers + 1):
            previous_items = self._layers[k - 1][num_users:]
            embedding += self.model.layer_weights[k] * (weights[:, None] * previous_items[liked]).sum(0)
        return embedding

    def recommend_for_new_user(self, liked_titles: Sequence[str], k: int = 10) -> pd.DataFrame:
        """Top-K movies for someone who names a few movies they like (fuzzy-matched titles)."""
        if not liked_titles:
            raise RecommendationError("no liked titles were given. Fix: name at least one movie, e.g. --like 'Star Wars (1977)'.")
        liked = [self.find_title(title) for title in liked_titles]
        self._check_k(k, self.dataset.num_items - len(set(liked)))
        if self.model.num_layers == 0:
            raise RecommendationError("a model with 0 layers has no propagation to fold a new user in with. Fix: use a LightGCN with layers.")
        scores = (self.item_embeddings @ self.new_user_embedding(liked)).clone()
        scores[torch.as_tensor(liked)] = -torch.inf
        top = torch.topk(scores, k).indices.numpy()
        return pd.DataFrame(
            {"rank": np.arange(1, k + 1), "title": [self.titles[i] for i in top], "score": scores[top].numpy().round(3)}
        ).rename_axis("liked: " + "; ".join(self.titles[i] for i in liked))


def load_recommender(checkpoint=None, data_dir=None, split: str = "ua") -> Recommender:
    """The recommender of a saved checkpoint (default: the one notebook 04 saves) on its data."""
    from utils.data import load_movielens
    from utils.graph import normalized_bipartite_adjacency
    from utils.training import checkpoint_dir, load_checkpoint

    dataset = load_movielens(data_dir, split=split)
    checkpoint = checkpoint or checkpoint_dir() / f"lightgcn_{split}.pt"
    model, _, _ = load_checkpoint(checkpoint, dataset.mapping)
    users, items = dataset.train_pairs()
    return Recommender(model, normalized_bipartite_adjacency(users, items, dataset.num_users, dataset.num_items), dataset)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m utils.recommend``: recommendations from the saved checkpoint, without Jupyter."""
    import argparse

    parser = argparse.ArgumentParser(
        prog="python -m utils.recommend",
        description="Movie recommendations from the LightGCN checkpoint that notebook 04 (or `make run`) saves.",
        epilog='Examples: --user 196 -k 10 | --like "Star Wars (1977)" --like Fargo | --similar "Toy Story"',
    )
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, help="a MovieLens user id (1-943): their top-K unseen movies, hits marked")
    who.add_argument("--like", action="append", metavar="TITLE", help="a movie you like (repeat it); fuzzy-matched")
    who.add_argument("--similar", metavar="TITLE", help="movies whose embeddings are closest to this one's")
    parser.add_argument("-k", type=int, default=10, help="how many movies to list (default 10)")
    parser.add_argument("--checkpoint", help="a checkpoint file (default: data/checkpoints/lightgcn_<split>.pt)")
    parser.add_argument("--data-dir", help="the ml-100k folder (default: $ML100K_DIR, then data/, then download)")
    parser.add_argument("--split", default="ua", help="the split the model was trained on (default ua)")
    args = parser.parse_args(argv)
    try:
        recommender = load_recommender(args.checkpoint, args.data_dir, args.split)
        if args.user is not None:
            table = recommender.recommend_for_user(args.user, args.k)
            hits = int(table["in_test"].sum())
            print(f"Top {args.k} for user {args.user} ({hits} of them in the user's held-out test ratings, marked *):")
            for row in table.itertuples():
                print(f"{row.rank:>3}. {'*' if row.in_test else ' '} {row.title}")
        elif args.like:
            table = recommender.recommend_for_new_user(args.like, args.k)
            print(f"Top {args.k} for a new user who likes {table.index.name.removeprefix('liked: ')}:")
            for row in table.itertuples():
                print(f"{row.rank:>3}.  {row.title}")
        else:
            table = recommender.similar_movies(args.similar, args.k)
            print(f"Movies like {table.index.name.removeprefix('like ')}:")
            for row in table.itertuples():
                print(f"{row.rank:>3}.  {row.title}  (cosine {row.cosine:.2f})")
    except (RecommendationError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
