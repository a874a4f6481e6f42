"""Plots of the series, one function per picture, each returning its matplotlib Figure.

Every function takes plain data (DataFrames, arrays, histories), never reaches back into the
model or the files, and leaves ``plt.show()`` to the notebook.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

PALETTE = {"users": "#3b6ea8", "movies": "#d1495b", "train": "#3b6ea8", "test": "#edae49", "accent": "#00798c"}


def use_style() -> None:
    """One calm style for every figure of the series."""
    plt.rcParams.update(
        {
            "figure.dpi": 110,
            "figure.figsize": (8, 3.6),
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.grid": True,
            "grid.alpha": 0.25,
            "axes.titleweight": "bold",
            "axes.titlesize": 11,
            "font.size": 10,
        }
    )


def rating_histogram(ratings: pd.DataFrame) -> plt.Figure:
    """How often each star rating 1–5 occurs."""
    counts = ratings["rating"].value_counts().reindex(range(1, 6), fill_value=0)
    fig, ax = plt.subplots(figsize=(5.5, 3.2))
    bars = ax.bar(counts.index, counts.to_numpy(), color=PALETTE["accent"])
    ax.bar_label(bars, labels=[f"{c / counts.sum():.0%}" for c in counts], padding=2)
    ax.set(xlabel="rating (stars)", ylabel="number of ratings", title="Ratings are mostly positive")
    ax.set_xticks(range(1, 6))
    return fig


def long_tail(ratings: pd.DataFrame) -> plt.Figure:
    """Ratings per user and per movie, sorted: a few very active users and blockbusters, a long tail."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    for ax, column, who, order in zip(axes, ("user_id", "item_id"), ("users", "movies"), ("most active", "most rated")):
        counts = np.sort(ratings[column].value_counts().to_numpy())[::-1]
        ax.fill_between(np.arange(len(counts)), counts, color=PALETTE[who], alpha=0.85, linewidth=0)
        ax.set_yscale("log")
        ax.yaxis.set_major_formatter(plt.matplotlib.ticker.ScalarFormatter())
        ax.set(
            xlabel=f"{who}, {order} first",
            ylabel="ratings (log scale)",
            title=f"Ratings per {who[:-1]}: median {int(np.median(counts))}, max {counts[0]}",
        )
    fig.tight_layout()
    return fig


def interaction_matrix(user_index: np.ndarray, item_index: np.ndarray, num_users: int, num_items: int) -> plt.Figure:
    """The user × movie matrix as a picture: one dot per rating, movies sorted by popularity."""
    popularity_rank = np.argsort(np.argsort(-np.bincount(item_index, minlength=num_items), kind="stable"))
    activity_rank = np.argsort(np.argsort(-np.bincount(user_index, minlength=num_users), kind="stable"))
    density = len(user_index) / (num_users * num_items)
    fig, ax = plt.subplots(figsize=(8, 4.6))
    ax.scatter(popularity_rank[item_index], activity_rank[user_index], s=0.05, color="black", alpha=0.5, linewidths=0)
    ax.set(
        xlim=(0, num_items),
        ylim=(num_users, 0),
        xlabel="movies, most rated first",
        ylabel="users, most active first",
        title=f"{len(user_index):,} ratings fill {density:.1%} of the {num_users} × {num_items} matrix",
    )
    ax.grid(False)
    return fig


def ratings_per_user_in_split(train: pd.DataFrame, test: pd.DataFrame, split: str = "ua") -> plt.Figure:
    """Training and test ratings per user: the ``ua`` split holds out exactly 10 of each user's."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    train_counts = train.groupby("user_id").size()
    test_counts = test.groupby("user_id").size()
    axes[0].hist(train_counts, bins=40, color=PALETTE["train"])
    axes[0].set(xlabel=f"training ratings per user ({split}.base)", ylabel="users", title="Training: a long tail")
    values, counts = np.unique(test_counts, return_counts=True)
    axes[1].bar(values, counts, color=PALETTE["test"], width=0.6)
    axes[1].set(
        xlabel=f"test ratings per user ({split}.test)",
        ylabel="users",
        title=f"Test: {', '.join(map(str, values))} per user",
        xticks=values,
    )
    fig.tight_layout()
    return fig


def metric_ceilings(num_relevant: int = 10, max_k: int = 20) -> plt.Figure:
    """The best Recall@K and Precision@K any model can reach when each user has ``num_relevant`` test items."""
    k = np.arange(1, max_k + 1)
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.plot(k, np.minimum(k, num_relevant) / num_relevant, marker="o", ms=3, label="best possible Recall@K", color=PALETTE["users"])
    ax.plot(k, np.minimum(k, num_relevant) / k, marker="o", ms=3, label="best possible Precision@K", color=PALETTE["movies"])
    ax.axvline(num_relevant, color="grey", linestyle="--", linewidth=1)
    ax.annotate(f"K = {num_relevant}: both can reach 1", (num_relevant, 0.5), xytext=(8, 0), textcoords="offset points")
    ax.set(xlabel="K (length of the recommendation list)", ylabel="ceiling", ylim=(0, 1.05), title="Ceilings with 10 test movies per user")
    ax.legend(loc="lower right")
    return fig
