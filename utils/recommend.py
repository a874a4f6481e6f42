"""From scores to movie titles: top-K lists for real users, similar movies, and brand-new users.

The last stage of the series: it takes a trained model (:mod:`utils.models`), the graph it was
trained on and the :class:`~utils.data.MovieLens` split, and answers in titles.

Command line (it trains and saves the default recipe first when there is no checkpoint)::

    python -m utils.recommend --user 196 -k 10
    python -m utils.recommend --like "Star Wars (1977)" --like "Fargo" -k 10
    python -m utils.recommend --similar "Toy Story (1995)"
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from utils.data import DEFAULT_DATASET, MovieLens
from utils.graph import normalized_bipartite_adjacency
from utils.models import BPRModel, FoldInError


class RecommendationError(ValueError):
    """A request that cannot be answered as asked; the message says what to change."""


@dataclass
class Recommender:
    """A trained model with its data, ready to answer in titles.

    The recommender answers from its own copy of the model (``recommender.model``), on the CPU and
    in eval mode: the caller's model keeps its device and mode, and training it further does not
    change the answers.

    Args:
        model: a trained model of :mod:`utils.models`.
        normalized_adjacency: the ``Â`` it was trained on (training split only).
        dataset: the split, for ids, titles, training and test movies.
    """

    model: BPRModel
    normalized_adjacency: torch.Tensor
    dataset: MovieLens

    def __post_init__(self):
        if (self.model.num_users, self.model.num_items) != (self.dataset.num_users, self.dataset.num_items):
            raise RecommendationError(
                f"the model has {self.model.num_users} users and {self.model.num_items} movies, the data "
                f"{self.dataset.num_users} and {self.dataset.num_items}: it was trained on other data. "
                "Fix: load the checkpoint with the split it was trained on, or retrain."
            )
        self.model = copy.deepcopy(self.model).cpu().eval()
        self.normalized_adjacency = self.normalized_adjacency.cpu()
        with torch.no_grad():
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
                f"({len(ids)} of them). Fix: pass a user id of the training ratings, e.g. {ids[0]}."
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
        """Movies closest to the named one by :func:`utils.lab.similarity.centered_cosine` of the final
        movie embeddings: the cosine once the direction all embeddings share (popularity) is
        projected out. Of the methods notebook 05 measures (raw cosine, co-occurrence, EASE's
        weights), its neighbours share a genre and are co-rated on held-out data most often.
        Candidates are the movies with at least :data:`utils.lab.similarity.MIN_CANDIDATE_RATINGS`
        training ratings; the query may be any movie.
        """
        item = self.find_title(title)
        from utils.lab import similarity  # the measured item–item method; the lab is loaded only for this

        candidates = self._item_degrees.numpy() >= similarity.MIN_CANDIDATE_RATINGS
        candidates[item] = False
        self._check_k(k, int(candidates.sum()))
        scores = similarity.centered_cosine(self.item_embeddings)[item].float()
        scores[~torch.as_tensor(candidates)] = -torch.inf
        top = torch.topk(scores, k).indices.numpy()
        return pd.DataFrame(
            {
                "rank": np.arange(1, k + 1),
                "title": [self.titles[i] for i in top],
                "similarity": scores[top].numpy().round(3),
            }
        ).rename_axis(f"like {self.titles[item]}")

    # --- a new user ----------------------------------------------------------------------------------

    def fold_in(self, liked_items: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        """Place a new user who likes ``liked_items`` in the graph without retraining.

        The user becomes a node linked to the liked movies; the model propagates the bigger graph
        (:meth:`utils.models.LightGCN.fold_in`). Returns the new user's final embedding and the
        movies' final embeddings on that graph. A model that cannot place a new user (0 layers,
        the NGCF-style model) is a :class:`RecommendationError` that says so.
        """
        liked = sorted(set(int(i) for i in liked_items))
        users, items = self.dataset.train_pairs()
        num_users = self.dataset.num_users
        augmented = normalized_bipartite_adjacency(
            np.concatenate([users, np.full(len(liked), num_users)]), np.concatenate([items, liked]), num_users + 1, self.dataset.num_items
        )
        try:
            with torch.no_grad():
                new_user, items_final = self.model.fold_in(augmented, 1)
        except FoldInError as error:
            raise RecommendationError(str(error)) from None
        return new_user[0], items_final

    def recommend_for_new_user(self, liked_titles: Sequence[str], k: int = 10) -> pd.DataFrame:
        """Top-K movies for someone who names a few movies they like (fuzzy-matched titles)."""
        if not liked_titles:
            raise RecommendationError("no liked titles were given. Fix: name at least one movie, e.g. --like 'Star Wars (1977)'.")
        liked = [self.find_title(title) for title in liked_titles]
        self._check_k(k, self.dataset.num_items - len(set(liked)))
        user_embedding, item_embeddings = self.fold_in(liked)
        scores = (item_embeddings @ user_embedding).clone()
        scores[torch.as_tensor(liked)] = -torch.inf
        top = torch.topk(scores, k).indices.numpy()
        return pd.DataFrame(
            {"rank": np.arange(1, k + 1), "title": [self.titles[i] for i in top], "score": scores[top].numpy().round(3)}
        ).rename_axis("liked: " + "; ".join(self.titles[i] for i in liked))


def load_recommender(checkpoint=None, data_dir=None, split: str | None = None, *, dataset: str = DEFAULT_DATASET,
                     train_if_missing: bool = False, progress: bool = True) -> Recommender:  # fmt: skip
    """The recommender of a saved checkpoint on its data (default: the default recipe's checkpoint
    of this dataset and split, which notebook 04 saves for ML-100K's ``ua``).

    With ``train_if_missing`` and no checkpoint at the default place, it trains the default recipe
    first (saying so, with a progress bar) and saves it there, so the next call is instant. That
    place is checked writable before the training (a :class:`~utils.checkpoints.CheckpointError`
    says how to choose another); a save that fails even so is a warning, and the model just
    trained answers.
    """
    import sys

    from utils.checkpoints import check_writable, checkpoint_path, load_checkpoint, save_checkpoint
    from utils.data import load_movielens
    from utils.recipes import DEFAULT_RECIPE
    from utils.training import train_model

    path = Path(checkpoint) if checkpoint else checkpoint_path(dataset, split, DEFAULT_RECIPE.name)
    training = checkpoint is None and train_if_missing and not path.is_file()
    if training:
        check_writable(path, fix="point LIGHTGCN_CHECKPOINT_DIR at a folder you can write (LIGHTGCN_CHECKPOINT_DIR=DIR "
                                 "python -m utils.recommend ...), or pass --checkpoint FILE, a checkpoint trained before.")  # fmt: skip
    data = load_movielens(data_dir, split, dataset=dataset)
    users, items = data.train_pairs()
    adjacency = normalized_bipartite_adjacency(users, items, data.num_users, data.num_items)
    if not training:
        model, _, _ = load_checkpoint(path, data.mapping)
        return Recommender(model, adjacency, data)
    config = DEFAULT_RECIPE.config
    print(f"No checkpoint at {path}: training the {DEFAULT_RECIPE.name} recipe ({DEFAULT_RECIPE.description}, "
          f"{config.epochs} epochs) on {data.name} {data.split} once; it is saved there for next time.", file=sys.stderr, flush=True)  # fmt: skip
    model = DEFAULT_RECIPE.build_model(data.num_users, data.num_items)
    history = train_model(model, adjacency, users, items, config.replace(eval_every=0), progress=progress)
    try:
        save_checkpoint(path, model, data.mapping, config, history, dataset=data.name, split=data.split)
    except OSError as error:  # e.g. the disk filled during training: the trained model still answers
        print(f"warning: the trained model could not be saved at {path} ({error}); it answers now, and the next "
              "call trains again.", file=sys.stderr, flush=True)  # fmt: skip
    return Recommender(model, adjacency, data)


def main(argv: Sequence[str] | None = None) -> None:
    """``python -m utils.recommend``: recommendations in titles, without Jupyter."""
    import argparse

    from utils.data import DatasetError
    from utils.datasets.cli import add_dataset_arguments

    parser = argparse.ArgumentParser(
        prog="python -m utils.recommend",
        description="Movie recommendations from a trained model: the default recipe's checkpoint (trained and saved "
                    "on first use when there is none), or --checkpoint.",
        epilog='Examples: --user 196 -k 10 | --like "Star Wars (1977)" --like Fargo | --similar "Toy Story"',
    )  # fmt: skip
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--user", type=int, help="a MovieLens user id: their top-K unseen movies, hits marked")
    who.add_argument("--like", action="append", metavar="TITLE", help="a movie you like (repeat it); fuzzy-matched")
    who.add_argument("--similar", metavar="TITLE", help="movies most like this one (centered cosine of the embeddings, notebook 05)")
    parser.add_argument("-k", type=int, default=10, help="how many movies to list (default 10)")
    parser.add_argument("--checkpoint", help="a checkpoint file (default: data/checkpoints/default_<dataset>_<split>.pt, trained if missing)")
    add_dataset_arguments(parser)
    args = parser.parse_args(argv)
    try:
        recommender = load_recommender(args.checkpoint, args.data_dir, args.split, dataset=args.dataset, train_if_missing=True)
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
                print(f"{row.rank:>3}.  {row.title}  (similarity {row.similarity:.2f})")
    except (RecommendationError, DatasetError, FileNotFoundError, ValueError) as error:
        raise SystemExit(f"error: {error}") from None


if __name__ == "__main__":
    main()
