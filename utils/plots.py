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


def toy_bipartite(user_index, item_index, user_names, item_names) -> plt.Figure:
    """A small bipartite graph drawn as two columns: users left, movies right, one line per rating."""
    fig, ax = plt.subplots(figsize=(5.5, 0.55 * max(len(user_names), len(item_names)) + 0.6))
    user_y = np.linspace(1, 0, len(user_names)) if len(user_names) > 1 else np.array([0.5])
    item_y = np.linspace(1, 0, len(item_names)) if len(item_names) > 1 else np.array([0.5])
    for u, i in zip(user_index, item_index):
        ax.plot([0, 1], [user_y[u], item_y[i]], color="grey", linewidth=1.2, zorder=1)
    ax.scatter(np.zeros(len(user_y)), user_y, s=260, color=PALETTE["users"], zorder=2)
    ax.scatter(np.ones(len(item_y)), item_y, s=260, color=PALETTE["movies"], zorder=2, marker="s")
    for y, name in zip(user_y, user_names):
        ax.annotate(name, (0, y), xytext=(-16, 0), textcoords="offset points", ha="right", va="center")
    for y, name in zip(item_y, item_names):
        ax.annotate(name, (1, y), xytext=(16, 0), textcoords="offset points", ha="left", va="center")
    ax.set(xlim=(-0.9, 1.9), ylim=(-0.15, 1.15), title="users ● — ■ movies: edges only between the two sides")
    ax.axis("off")
    return fig


def adjacency_blocks(adjacency, num_users: int, max_points: int = 200_000) -> plt.Figure:
    """The full (U+I) × (U+I) adjacency: only the off-diagonal blocks R and Rᵀ hold edges."""
    rows, cols = adjacency.coalesce().indices().numpy() if adjacency.is_sparse else np.nonzero(adjacency)
    size = adjacency.shape[0]
    fig, ax = plt.subplots(figsize=(5.6, 5.6))
    ax.scatter(cols[:max_points], rows[:max_points], s=0.02, color="black", alpha=0.6, linewidths=0)
    for position in (num_users,):
        ax.axhline(position, color=PALETTE["accent"], linewidth=1)
        ax.axvline(position, color=PALETTE["accent"], linewidth=1)
    labels = {"0 (user–user)": (num_users / 2, num_users / 2), "R": ((num_users + size) / 2, num_users / 2),
              "Rᵀ": (num_users / 2, (num_users + size) / 2), "0 (movie–movie)": ((num_users + size) / 2, (num_users + size) / 2)}  # fmt: skip
    for text, (x, y) in labels.items():
        ax.text(x, y, text, ha="center", va="center", fontsize=12, color=PALETTE["movies"], weight="bold",
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
    ax.set(xlim=(0, size), ylim=(size, 0), xlabel="node (users, then movies)", ylabel="node",
           title=f"Adjacency A: {size} × {size}, {len(rows):,} non-zeros")  # fmt: skip
    ax.grid(False)
    return fig


def matrix_block(block: np.ndarray, title: str, row_label: str, col_label: str, cmap: str = "Blues", fmt: str | None = None) -> plt.Figure:
    """A small dense block of a matrix as a heatmap, optionally with its values written in."""
    fig, ax = plt.subplots(figsize=(min(0.32 * block.shape[1] + 2, 10), min(0.32 * block.shape[0] + 1.2, 6)))
    image = ax.imshow(block, cmap=cmap, aspect="auto", interpolation="nearest")
    if fmt:
        for (r, c), value in np.ndenumerate(block):
            if value:
                ax.text(c, r, format(value, fmt), ha="center", va="center", fontsize=6)
    fig.colorbar(image, ax=ax, fraction=0.04)
    ax.set(title=title, xlabel=col_label, ylabel=row_label)
    ax.grid(False)
    return fig


def degree_distributions(degrees, num_users: int) -> plt.Figure:
    """Histograms of node degree for users and for movies (log-spaced bins)."""
    degrees = np.asarray(degrees)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4), sharey=False)
    for ax, values, who in zip(axes, (degrees[:num_users], degrees[num_users:]), ("users", "movies")):
        positive = values[values > 0]
        bins = np.logspace(0, np.log10(positive.max() + 1), 30)
        ax.hist(positive, bins=bins, color=PALETTE[who])
        ax.set_xscale("log")
        ax.set(xlabel="degree (number of ratings, log scale)", ylabel=who,
               title=f"{who.capitalize()}: degree {int(positive.min())} to {int(positive.max())}, mean {positive.mean():.0f}")  # fmt: skip
    fig.tight_layout()
    return fig


def normalized_weights(degree_products, values) -> plt.Figure:
    """Each edge's weight 1/sqrt(d_u d_i) against the degree product: busy nodes speak softly."""
    fig, ax = plt.subplots(figsize=(6.5, 3.4))
    ax.scatter(degree_products, values, s=2, alpha=0.3, color=PALETTE["accent"], linewidths=0)
    ax.set(xscale="log", yscale="log", xlabel="d_u · d_i (log scale)", ylabel="Â_ui (log scale)",
           title="Normalised edge weights: Â_ui = 1 / √(d_u d_i)")  # fmt: skip
    return fig


def score_distributions(positive_scores, negative_scores, title: str) -> plt.Figure:
    """Histograms of model scores for (user, rated movie) pairs and (user, sampled negative) pairs."""
    positive_scores, negative_scores = np.asarray(positive_scores), np.asarray(negative_scores)
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    bins = np.linspace(min(positive_scores.min(), negative_scores.min()), max(positive_scores.max(), negative_scores.max()), 60)
    ax.hist(negative_scores, bins=bins, alpha=0.6, color="grey", label="user × sampled negative movie")
    ax.hist(positive_scores, bins=bins, alpha=0.6, color=PALETTE["accent"], label="user × movie they rated")
    share = (positive_scores > negative_scores).mean()
    ax.set(xlabel="score ŷ = e_u · e_i", ylabel="pairs", title=f"{title}: positive above its negative in {share:.0%} of pairs")
    ax.legend(fontsize=8)
    return fig


def training_curves(frames: dict, metric: str = "recall@10", x: str = "epoch", reference: dict | None = None) -> plt.Figure:
    """Loss and a ranking metric during training, one line per run; ``frames`` maps a name to
    ``History.to_frame()`` (index: epoch). ``x`` is "epoch", "train_seconds" or "steps" (a column)."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    colors = [PALETTE["movies"], PALETTE["accent"], PALETTE["users"], PALETTE["test"], "black"]
    for (name, frame), color in zip(frames.items(), colors):
        frame = frame.reset_index()
        axes[0].plot(frame[x], frame["loss"], label=name, color=color)
        measured = frame.dropna(subset=[metric])
        axes[1].plot(measured[x], measured[metric], marker="o", ms=3, label=name, color=color)
    for label, value in (reference or {}).items():
        axes[1].axhline(value, color="grey", linestyle="--", linewidth=1)
        axes[1].annotate(label, (axes[1].get_xlim()[0], value), xytext=(4, 3), textcoords="offset points", fontsize=8, color="grey")
    xlabel = {"epoch": "epoch", "train_seconds": "training seconds", "steps": "Adam steps"}.get(x, x)
    axes[0].set(xlabel=xlabel, ylabel="training loss", title="Loss (BPR + L2)")
    axes[1].set(xlabel=xlabel, ylabel=metric, title=f"Validation {metric}")
    axes[0].legend()
    for ax in axes:
        if x != "epoch":
            ax.set_xscale("log")
    fig.tight_layout()
    return fig


def metrics_at_k(results: dict, ks, metrics=("recall", "ndcg")) -> plt.Figure:
    """Recall@K and NDCG@K (or other metrics) for K in ``ks``, one line per model.

    ``results`` maps a model name to :meth:`RankingEvaluator.evaluate`'s dict for those K."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(5.2 * len(metrics), 3.5))
    colors = [PALETTE["accent"], "grey", PALETTE["movies"], PALETTE["users"]]
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        for (name, result), color in zip(results.items(), colors):
            ax.plot(list(ks), [result[f"{metric}@{k}"] for k in ks], marker="o", ms=3, label=name, color=color)
        ax.set(xlabel="K", ylabel=f"{metric}@K", title=f"{metric.capitalize() if metric != 'ndcg' else 'NDCG'}@K on the test split", xticks=list(ks))
    np.atleast_1d(axes)[0].legend()
    fig.tight_layout()
    return fig


def per_user_distribution(values: dict, metric: str = "recall@10") -> plt.Figure:
    """Histogram of a per-user metric, one colour per model: means hide how unequal users are."""
    fig, ax = plt.subplots(figsize=(6.8, 3.4))
    colors = [PALETTE["accent"], "grey", PALETTE["movies"]]
    bins = np.linspace(0, 1, 12)
    for (name, per_user), color in zip(values.items(), colors):
        ax.hist(per_user, bins=bins, alpha=0.55, color=color, label=f"{name} (mean {np.mean(per_user):.3f})")
    ax.set(xlabel=f"{metric} of one user", ylabel="users", title=f"Per-user {metric}")
    ax.legend()
    return fig


def ablation_bars(table: pd.DataFrame, metrics=("recall@10", "ndcg@10"), reference: str | None = None) -> plt.Figure:
    """Bars of mean ± std over seeds, one group per model; ``table`` has ``<metric> mean`` / ``<metric> std`` columns."""
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 0.42 * len(table) + 1.4), sharey=True)
    positions = np.arange(len(table))[::-1]
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        means, stds = table[f"{metric} mean"].to_numpy(), table[f"{metric} std"].fillna(0).to_numpy()
        colors = [PALETTE["accent"] if "LightGCN" in name else ("grey" if name in ("most popular", "EASE") else PALETTE["movies"]) for name in table.index]
        ax.barh(positions, means, xerr=stds, color=colors, alpha=0.85, capsize=3)
        for y, mean in zip(positions, means):
            ax.text(mean + 0.003, y, f"{mean:.3f}", va="center", fontsize=8)
        if reference is not None and reference in table.index:
            ax.axvline(table.loc[reference, f"{metric} mean"], color="grey", linestyle="--", linewidth=1)
        ax.set(xlabel=f"{metric} on the test split (mean ± std over seeds)", xlim=(0, means.max() * 1.18))
        ax.set_yticks(positions, table.index)
    fig.tight_layout()
    return fig


def embedding_map(coordinates: np.ndarray, groups: pd.Series, labels: dict[int, str], shares=None) -> plt.Figure:
    """A 2-D map of movie embeddings coloured by ``groups``, with a few titles written in."""
    fig, ax = plt.subplots(figsize=(8.5, 6.2))
    palette = plt.get_cmap("tab10")
    for index, group in enumerate(sorted(groups.unique(), key=lambda g: (g == "other", g))):
        mask = (groups == group).to_numpy()
        color = "lightgrey" if group == "other" else palette(index)
        ax.scatter(coordinates[mask, 0], coordinates[mask, 1], s=9, alpha=0.7, color=color, label=group, linewidths=0)
    for row, title in labels.items():
        ax.annotate(title, coordinates[row], xytext=(4, 4), textcoords="offset points", fontsize=7.5,
                    bbox={"facecolor": "white", "alpha": 0.7, "edgecolor": "none", "pad": 1})  # fmt: skip
    axis = "PC{} ({:.0%} of variance)" if shares is not None else "PC{}"
    ax.set(xlabel=axis.format(1, *(shares[:1] if shares is not None else [])),
           ylabel=axis.format(2, *(shares[1:2] if shares is not None else [])),
           title="Movie embeddings of the trained LightGCN, first two principal components")  # fmt: skip
    ax.legend(markerscale=2.5, fontsize=8, loc="best", ncols=2)
    return fig


def grouped_lines(frames: dict, xlabel: str, ylabel: str, title: str) -> plt.Figure:
    """One line per model over ordered groups (e.g. user-activity quartiles); ``frames`` map name -> Series."""
    fig, ax = plt.subplots(figsize=(7, 3.5))
    colors = [PALETTE["accent"], PALETTE["movies"], "grey", PALETTE["users"], PALETTE["test"]]
    for (name, series), color in zip(frames.items(), colors):
        ax.plot([str(i) for i in series.index], series.to_numpy(), marker="o", label=name, color=color)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    ax.tick_params(axis="x", labelsize=8)
    ax.legend(fontsize=8)
    return fig


def toy_layers(layers, names, num_users: int) -> plt.Figure:
    """2-D embeddings of a toy graph's nodes at each layer, one panel a layer, users ● and movies ■."""
    fig, axes = plt.subplots(1, len(layers), figsize=(3.3 * len(layers), 3.3), sharex=True, sharey=True)
    limit = 1.15 * max(float(np.abs(np.asarray(layer)).max()) for layer in layers)
    for k, (ax, layer) in enumerate(zip(np.atleast_1d(axes), layers)):
        layer = np.asarray(layer)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.scatter(*layer[:num_users].T, s=90, color=PALETTE["users"], label="users", zorder=3)
        ax.scatter(*layer[num_users:].T, s=90, color=PALETTE["movies"], marker="s", label="movies", zorder=3)
        for (x, y), name in zip(layer, names):
            ax.annotate(name, (x, y), xytext=(5, 4), textcoords="offset points", fontsize=8)
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=f"E^({k})" + (f" = Â E^({k - 1})" if k else ""))
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def lightgcn_diagram(num_layers: int = 3) -> plt.Figure:
    """LightGCN at a glance: E^(0) → Â → E^(1) → … → E^(K), the layers averaged, a dot product scores."""
    fig, ax = plt.subplots(figsize=(9, 2.6))
    ax.axis("off")
    boxes = [f"E^({k})" for k in range(num_layers + 1)]
    xs = np.linspace(0.06, 0.62, len(boxes))
    style = {"ha": "center", "va": "center", "fontsize": 10}
    for k, (x, label) in enumerate(zip(xs, boxes)):
        colour = PALETTE["accent"] if k == 0 else "#dddddd"
        ax.text(x, 0.72, label, bbox={"boxstyle": "round,pad=0.45", "facecolor": colour, "alpha": 0.35}, **style)
        if k:
            ax.annotate("", xy=(x - 0.045, 0.72), xytext=(xs[k - 1] + 0.045, 0.72), arrowprops={"arrowstyle": "->"})
            ax.text((x + xs[k - 1]) / 2, 0.86, "Â ·", fontsize=9, ha="center")
        ax.annotate("", xy=(0.78, 0.36), xytext=(x, 0.62), arrowprops={"arrowstyle": "->", "color": "grey", "alpha": 0.6})
    ax.text(0.80, 0.30, "E = Σ_k α_k E^(k)\n(the mean: α_k = 1/(K+1))", bbox={"boxstyle": "round,pad=0.45", "facecolor": "#f3f3f3"}, **style)
    ax.annotate("", xy=(0.80, 0.02), xytext=(0.80, 0.17), arrowprops={"arrowstyle": "->"})
    ax.text(0.80, -0.06, "ŷ_ui = e_u · e_i", **style)
    ax.text(0.06, 0.42, "learned\n(the only parameters)", fontsize=8, ha="center", color=PALETTE["accent"])
    ax.text(0.40, 0.42, "no weights, no non-linearity:\neach layer is one sparse product", fontsize=8, ha="center", color="grey")
    ax.set(xlim=(0, 1), ylim=(-0.15, 1), title=f"LightGCN with K = {num_layers} layers")
    return fig
