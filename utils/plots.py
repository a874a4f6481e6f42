"""Plots of the series, one function per picture, each returning its matplotlib Figure.

Every function takes plain data (DataFrames, arrays, histories), never reaches back into the
model or the files, and leaves ``plt.show()`` to the notebook.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.colors import ListedColormap
from matplotlib.patches import Patch
from matplotlib.ticker import FuncFormatter, MaxNLocator

#: Tick labels 1, 10, 100 on a log axis (not 10⁰, 10¹, 10², nor 1.0, 10.0).
PLAIN_NUMBERS = FuncFormatter(lambda value, _: f"{value:g}")

PALETTE = {"users": "#3b6ea8", "movies": "#d1495b", "train": "#3b6ea8", "test": "#edae49", "accent": "#00798c"}


def use_style() -> None:
    """One calm style for every figure of the series (seaborn's white grid, quiet spines).

    In Jupyter, figures are saved as "retina" PNGs: twice the pixels, shown at the same size, so
    they stay sharp on high-density screens (phones, laptops) in the notebook and the book.
    """
    sns.set_theme(style="whitegrid", context="notebook", font_scale=0.9)
    _retina_in_jupyter()
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


def _retina_in_jupyter() -> None:
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("retina")


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
    """Training and test ratings per user: ``ua`` and ``ub`` hold out exactly 10 of each user's, the
    folds ``u1`` … ``u5`` a fifth of all ratings, so their test sizes vary (and some users have none)."""
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    users = np.union1d(train["user_id"].unique(), test["user_id"].unique())
    train_counts = train.groupby("user_id").size()
    test_counts = test.groupby("user_id").size().reindex(users, fill_value=0)
    sns.histplot(train_counts.to_numpy(), bins=40, color=PALETTE["train"], ax=axes[0])
    axes[0].set(xlabel=f"training ratings per user ({split}.base)", ylabel="users", title="Training: a long tail")
    values = np.unique(test_counts)
    if len(values) <= 5:  # a per-user split: one bar per size, each labelled
        counts = test_counts.value_counts().reindex(values)
        axes[1].bar(values, counts.to_numpy(), color=PALETTE["test"], width=0.6)
        axes[1].set(xticks=values, xlim=(values.min() - 3, values.max() + 3))
        sizes = ", ".join(map(str, values))
    else:  # sizes vary: a histogram, the range in the title
        sns.histplot(test_counts.to_numpy(), bins=40, color=PALETTE["test"], ax=axes[1])
        sizes = f"{values.min()} to {values.max()}"
    none = int((test_counts == 0).sum())
    axes[1].set(xlabel=f"test ratings per user ({split}.test)", ylabel="users",
                title=f"Test: {sizes} per user" + (f" ({none} users have none)" if none and len(values) > 5 else ""))  # fmt: skip
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


def matrix_block(block: np.ndarray, title: str, row_label: str, col_label: str, cmap: str = "viridis_r",
                 binary_labels: tuple[str, str] | None = None) -> plt.Figure:  # fmt: skip
    """A small dense block of a matrix as a heatmap.

    With ``binary_labels`` (e.g. ``("not rated", "rated")``) a 0/1 block gets two colours and a legend;
    otherwise zeros are left blank, so that the weakest non-zero entries still show on the colour scale.
    """
    block = np.asarray(block)
    fig, ax = plt.subplots(figsize=(min(0.2 * block.shape[1] + 2.4, 10), min(0.2 * block.shape[0] + 1.4, 6)))
    ticks = {"xticklabels": 5, "yticklabels": 5}
    if binary_labels is not None:
        colours = ["#f2f2f2", PALETTE["accent"]]
        sns.heatmap(block, cmap=ListedColormap(colours), vmin=0, vmax=1, cbar=False, linewidths=0.3, linecolor="white", ax=ax, **ticks)
        ax.legend(handles=[Patch(color=c, label=label) for c, label in zip(colours, binary_labels)],
                  loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)  # fmt: skip
    else:
        sns.heatmap(block, mask=block == 0, cmap=cmap, linewidths=0.3, linecolor="#eeeeee", ax=ax,
                    cbar_kws={"label": "value (blank: 0)"}, **ticks)  # fmt: skip
    ax.set(title=title, xlabel=col_label, ylabel=row_label)
    ax.tick_params(labelsize=8)
    return fig


def degree_bins(max_degree: int) -> np.ndarray:
    """Bin edges 0.5, 1.5, 3.5, 7.5, …: each bin holds the whole degrees 2^j to 2^(j+1) − 1 (1, 2–3,
    4–7, …), so no bin falls between two integers and none is empty for lack of one."""
    powers = 2 ** np.arange(int(np.ceil(np.log2(max_degree + 1))) + 1)
    return powers - 0.5


def degree_distributions(degrees, num_users: int) -> plt.Figure:
    """Histograms of node degree for users and for movies, in bins that double in width (1, 2–3, 4–7, …)."""
    degrees = np.asarray(degrees)
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
    for ax, values, who in zip(axes, (degrees[:num_users], degrees[num_users:]), ("users", "movies")):
        positive = values[values > 0]
        edges = degree_bins(int(positive.max()))
        edges = edges[np.searchsorted(edges, positive.min()) - 1:]  # from the first filled bin
        sns.histplot(positive, bins=edges, color=PALETTE[who], ax=ax)
        ax.set_xscale("log", base=2)
        ax.set_xticks([tick for tick in 4 ** np.arange(6) if edges[0] < tick < edges[-1]])
        ax.xaxis.set_major_formatter(PLAIN_NUMBERS)  # degrees as 1, 4, 16, …, not 2^0, 2^2, 2^4
        ax.set(xlabel="degree (bins double in width, log scale)", ylabel=who,
               title=f"{who.capitalize()}: degree {int(positive.min())} to {int(positive.max())}, "
                     f"median {np.median(positive):.0f}")  # fmt: skip
    fig.tight_layout()
    return fig


def row_sums_by_degree(degrees, row_sums, num_users: int) -> plt.Figure:
    """Each node's row sum of Â against its degree: an average (D⁻¹A) would put every node at 1."""
    degrees, row_sums = np.asarray(degrees), np.asarray(row_sums)
    fig, ax = plt.subplots(figsize=(6.5, 3.6))
    for part, who, marker in ((slice(num_users, None), "movies", "s"), (slice(None, num_users), "users", "o")):
        ax.scatter(degrees[part], row_sums[part], s=9, alpha=0.5, color=PALETTE[who], marker=marker, label=who,
                   linewidths=0)  # fmt: skip
    ax.axhline(1, color="grey", linestyle="--", linewidth=1, label="every row of D⁻¹A (an average)")
    ax.set(xscale="log", yscale="log", xlabel="degree d (log scale)", ylabel="row sum of Â (log scale)",
           title="Row sums of Â grow with the degree")  # fmt: skip
    ax.xaxis.set_major_formatter(PLAIN_NUMBERS)
    ax.yaxis.set_major_formatter(PLAIN_NUMBERS)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


def score_distributions(positive_scores, negative_scores, title: str) -> plt.Figure:
    """Histograms of model scores for (user, rated movie) pairs and (user, sampled negative) pairs."""
    positive_scores, negative_scores = np.asarray(positive_scores), np.asarray(negative_scores)
    pairs = pd.DataFrame({"score": np.concatenate([positive_scores, negative_scores]),
                          "pair": ["user × movie they rated"] * len(positive_scores) + ["user × sampled negative"] * len(negative_scores)})  # fmt: skip
    fig, ax = plt.subplots(figsize=(6.5, 3.2))
    sns.histplot(pairs, x="score", hue="pair", bins=60, element="step", alpha=0.35, ax=ax,
                 palette={"user × movie they rated": PALETTE["accent"], "user × sampled negative": "grey"})  # fmt: skip
    share = (positive_scores > negative_scores).mean()
    ax.set(xlabel="score ŷ = e_u · e_i", ylabel="pairs", title=f"{title}: positive above its negative in {share:.0%} of pairs")
    # the legend beside the histograms, not over them
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title=None, frameon=False)
    return fig


def training_curves(frames: dict, metric: str = "recall@10", x: str = "epoch", reference: dict | None = None,
                    loss: str = "loss", loss_label: str = "training loss (BPR + L2)") -> plt.Figure:
    """Loss and a ranking metric during training, one line per run; ``frames`` maps a name to
    ``History.to_frame()`` (index: epoch). ``x`` is "epoch", "train_seconds" or "steps" (a column);
    ``loss`` is the column drawn on the left (e.g. one the evaluation measures), ``loss_label`` its name."""
    fig, axes = plt.subplots(1, 2, figsize=(11, 3.6))
    colors = [PALETTE["movies"], PALETTE["accent"], PALETTE["users"], PALETTE["test"], "black"]
    for (name, frame), color in zip(frames.items(), colors):
        frame = frame.reset_index()
        losses = frame.dropna(subset=[loss])
        axes[0].plot(losses[x], losses[loss], label=name, color=color)
        measured = frame.dropna(subset=[metric])
        axes[1].plot(measured[x], measured[metric], marker="o", ms=3, label=name, color=color)
    for label, value in (reference or {}).items():
        axes[1].axhline(value, color="grey", linestyle="--", linewidth=1)
        # x in axes coordinates, so the label stays at the left edge on a log axis too
        axes[1].annotate(label, (0, value), xycoords=axes[1].get_yaxis_transform(), xytext=(4, 3),
                         textcoords="offset points", fontsize=8, color="grey")
    xlabel = {"epoch": "epoch", "train_seconds": "training seconds", "steps": "Adam steps"}.get(x, x)
    axes[0].set(xlabel=xlabel, ylabel=loss_label, title=loss_label[0].upper() + loss_label[1:])
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
    """How many users get each value of a per-user metric, one colour per model: means hide how unequal users are.

    With 10 test movies a user's Recall@10 is one of 0, 0.1, …, 1: one bar per value. A metric with
    many distinct values is binned instead.
    """
    frame = pd.concat([pd.DataFrame({"value": np.round(np.asarray(v, dtype=float), 6), "model": f"{name} (mean {np.mean(v):.3f})"})
                       for name, v in values.items()])  # fmt: skip
    palette = dict(zip(frame["model"].unique(), [PALETTE["accent"], "grey", PALETTE["movies"], PALETTE["users"]]))
    fig, ax = plt.subplots(figsize=(7.5, 3.4))
    tenths = frame["value"].to_numpy() * 10
    if np.allclose(tenths, np.round(tenths)):  # 10 test movies a user: every possible value gets its bar
        order = np.round(np.linspace(0, 1, 11), 6)
        sns.countplot(frame, x="value", hue="model", order=order, palette=palette, ax=ax)
        ax.set_xticks(range(len(order)), [f"{v:g}" for v in order])
    elif frame["value"].nunique() <= 15:
        order = np.sort(frame["value"].unique())
        sns.countplot(frame, x="value", hue="model", order=order, palette=palette, ax=ax)
        ax.set_xticks(range(len(order)), [f"{v:g}" for v in order])
    else:
        sns.histplot(frame, x="value", hue="model", bins=20, multiple="dodge", palette=palette, ax=ax)
    ax.set(xlabel=f"{metric} of one user", ylabel="users", title=f"Per-user {metric}")
    ax.get_legend().set_title(None)
    return fig


#: Colours of the model families in notebook 06's comparison.
FAMILY_COLOURS = {"LightGCN": PALETTE["accent"], "MF-BPR": PALETTE["users"], "NGCF-style": PALETTE["movies"],
                  "baseline (no training loop)": "grey"}  # fmt: skip


def model_family(name: str) -> str:
    """The family a model of notebook 06 belongs to, by its display name (its colour in the plots)."""
    for family in ("LightGCN", "MF-BPR", "NGCF"):
        if name.startswith(family):
            return "NGCF-style" if family == "NGCF" else family
    return "baseline (no training loop)"


def ablation_bars(results: pd.DataFrame, metrics=("recall@10", "ndcg@10"), reference: str | None = None) -> plt.Figure:
    """Mean over seeds of each model (one row of ``results`` per model and seed), ± one standard deviation.

    Bars are coloured by model family (legend); each mean is written inside its bar, clear of the error bar.
    """
    order = list(dict.fromkeys(results["model"]))
    frame = results.assign(family=results["model"].map(model_family))
    fig, axes = plt.subplots(1, len(metrics), figsize=(6 * len(metrics), 0.42 * len(order) + 1.8), sharey=True)
    for ax, metric in zip(np.atleast_1d(axes), metrics):
        sns.barplot(frame, y="model", x=metric, hue="family", order=order, palette=FAMILY_COLOURS, errorbar="sd",
                    capsize=0.3, err_kws={"linewidth": 1}, dodge=False, alpha=0.9, legend=ax is np.atleast_1d(axes)[0], ax=ax)  # fmt: skip
        means = frame.groupby("model", sort=False)[metric].mean().loc[order]
        for y, mean in enumerate(means):
            ax.text(0.004, y, f"{mean:.3f}", va="center", ha="left", fontsize=8, color="white", weight="bold")
        if reference is not None and reference in means.index:
            ax.axvline(means[reference], color="grey", linestyle="--", linewidth=1)
        ax.set(xlabel=f"{metric} on the test split (mean ± std over seeds)", ylabel="")
    first = np.atleast_1d(axes)[0]
    handles, labels = first.get_legend_handles_labels()
    first.get_legend().remove()
    fig.legend(handles, labels, loc="upper center", ncols=len(labels), frameon=False)
    fig.tight_layout(rect=(0, 0, 1, 0.93))
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


def grouped_bars(frames: dict, xlabel: str, ylabel: str, title: str) -> plt.Figure:
    """One bar per model in each of a few ordered groups (e.g. user-activity quartiles); ``frames`` map name -> Series."""
    frame = pd.concat([pd.DataFrame({"group": series.index.astype(str), "value": series.to_numpy(), "model": name})
                       for name, series in frames.items()])  # fmt: skip
    palette = dict(zip(frames, [PALETTE["accent"], PALETTE["users"], "grey", PALETTE["movies"], PALETTE["test"]]))
    fig, ax = plt.subplots(figsize=(7.5, 3.5))
    sns.barplot(frame, x="group", y="value", hue="model", palette=palette, ax=ax)
    ax.set(xlabel=xlabel, ylabel=ylabel, title=title)
    sns.move_legend(ax, "upper left", bbox_to_anchor=(1.01, 1), title=None, frameon=False)
    return fig


def toy_layers(layers, names, num_users: int) -> plt.Figure:
    """2-D embeddings of a toy graph's nodes at each layer, one panel a layer, users ● and movies ■.

    Users are drawn above movies and labelled to their right, movies below, so that a user and a
    movie at the same point both stay visible and readable."""
    fig, axes = plt.subplots(1, len(layers), figsize=(3.5 * len(layers), 3.6), sharex=True, sharey=True)
    limit = 1.4 * max(float(np.abs(np.asarray(layer)).max()) for layer in layers)
    for k, (ax, layer) in enumerate(zip(np.atleast_1d(axes), layers)):
        layer = np.asarray(layer)
        ax.axhline(0, color="grey", linewidth=0.6)
        ax.axvline(0, color="grey", linewidth=0.6)
        ax.scatter(*layer[num_users:].T, s=150, color=PALETTE["movies"], marker="s", label="movies", zorder=3)
        ax.scatter(*layer[:num_users].T, s=60, color=PALETTE["users"], label="users", zorder=4,
                   edgecolors="white", linewidths=1)  # fmt: skip
        for node, ((x, y), name) in enumerate(zip(layer, names)):
            user = node < num_users
            ax.annotate(name, (x, y), xytext=(7, 0) if user else (0, -9), textcoords="offset points",
                        ha="left" if user else "center", va="center" if user else "top", fontsize=8,
                        color=PALETTE["users"] if user else PALETTE["movies"], zorder=5)  # fmt: skip
        ax.set(xlim=(-limit, limit), ylim=(-limit, limit), aspect="equal", title=f"E^({k})" + (f" = Â E^({k - 1})" if k else ""))
    np.atleast_1d(axes)[0].legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def lightgcn_diagram(num_layers: int = 3) -> plt.Figure:
    """LightGCN at a glance: E^(0) → Â → E^(1) → … → E^(K), the layers averaged, a dot product scores."""
    from matplotlib.patches import FancyArrowPatch

    fig, ax = plt.subplots(figsize=(9, 3.0))
    ax.axis("off")
    ax.set(xlim=(0, 1), ylim=(0, 1))
    xs = np.linspace(0.08, 0.62, num_layers + 1)
    style = {"ha": "center", "va": "center", "fontsize": 10}

    def arrow(start, end, colour="black"):
        ax.add_patch(FancyArrowPatch(start, end, arrowstyle="-|>", mutation_scale=12, color=colour, linewidth=1.2))

    for k, x in enumerate(xs):
        label = "E^(0)\nlearned" if k == 0 else f"E^({k})"
        colour = PALETTE["accent"] if k == 0 else "#dddddd"
        ax.text(x, 0.74, label, bbox={"boxstyle": "round,pad=0.45", "facecolor": colour, "alpha": 0.35}, **style)
        if k:
            arrow((xs[k - 1] + 0.05, 0.74), (x - 0.05, 0.74))
            ax.text((x + xs[k - 1]) / 2, 0.84, "Â ·", fontsize=9, ha="center")
        arrow((x, 0.62), (np.mean(xs) + 0.4 * (x - np.mean(xs)), 0.42), colour="grey")  # into the mean
    ax.text(np.mean(xs), 0.34, "E = Σ_k α_k E^(k)    (the mean: α_k = 1/(K+1))",
            bbox={"boxstyle": "round,pad=0.5", "facecolor": "#f3f3f3"}, **style)  # fmt: skip
    arrow((0.66, 0.34), (0.79, 0.34))
    ax.text(0.89, 0.34, "ŷ_ui = e_u · e_i", bbox={"boxstyle": "round,pad=0.45", "facecolor": "#f3f3f3"}, **style)
    ax.text(0.5, 0.08, "the only parameters are E^(0); each layer is one sparse product, no weights, no non-linearity",
            fontsize=8, ha="center", color="grey")  # fmt: skip
    ax.set_title(f"LightGCN with K = {num_layers} layers")
    return fig


def sampling_diagram(exclude_positives: bool = True) -> plt.Figure:
    """How one training triple (user, positive, negative) is made: the positive comes from the
    training ratings, the negative is drawn uniformly among all movies (re-drawn if the user rated it)."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    ax.axis("off")
    style = {"ha": "center", "va": "center", "fontsize": 9}

    def box(x, y, text, colour):
        ax.text(x, y, text, bbox={"boxstyle": "round,pad=0.5", "facecolor": colour, "alpha": 0.25, "edgecolor": colour}, **style)

    def arrow(start, end, label=None, colour="black"):
        ax.annotate("", xy=end, xytext=start, arrowprops={"arrowstyle": "->", "color": colour})
        if label:
            ax.text((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.07, label, fontsize=8, ha="center", color=colour)

    box(0.08, 0.5, "training ratings\n(u, i) pairs", PALETTE["train"])
    box(0.30, 0.5, "shuffle, cut into\nbatches", PALETTE["train"])
    box(0.53, 0.8, "positive: the batch's\nown (u, i)", PALETTE["accent"])
    box(0.53, 0.2, "negative j: uniform\namong all movies", "grey")
    box(0.90, 0.5, "triple (u, i, j)\n→ BPR loss", PALETTE["accent"])
    arrow((0.15, 0.5), (0.23, 0.5))
    arrow((0.37, 0.55), (0.44, 0.75))
    arrow((0.37, 0.45), (0.44, 0.25))
    ax.text(0.37, 0.25, "for each (u, i)", fontsize=8, ha="center")
    arrow((0.62, 0.78), (0.82, 0.55))
    if exclude_positives:
        box(0.74, 0.12, "did u rate j?", PALETTE["movies"])
        arrow((0.62, 0.17), (0.68, 0.13))
        ax.annotate("", xy=(0.58, 0.06), xytext=(0.74, 0.04),
                    arrowprops={"arrowstyle": "->", "color": PALETTE["movies"], "connectionstyle": "arc3,rad=-0.4"})  # fmt: skip
        ax.text(0.66, -0.08, "yes: draw again", fontsize=8, color=PALETTE["movies"], ha="center")
        arrow((0.79, 0.17), (0.85, 0.42), "no", PALETTE["accent"])
    else:
        arrow((0.62, 0.22), (0.82, 0.45), "kept, even if u rated j")
    ax.set(xlim=(0, 1), ylim=(-0.15, 1), title="Sampling one training triple" + ("" if exclude_positives else " (the original recipe)"))
    return fig


def sampled_popularity(positive_popularity, negative_popularity) -> plt.Figure:
    """Training ratings of the movies drawn as positives and as negatives in one epoch (log scale)."""
    frame = pd.DataFrame({"training ratings of the movie": np.concatenate([positive_popularity, negative_popularity]),
                          "drawn as": ["positive"] * len(positive_popularity) + ["negative"] * len(negative_popularity)})  # fmt: skip
    fig, ax = plt.subplots(figsize=(6.8, 3.3))
    sns.histplot(frame, x="training ratings of the movie", hue="drawn as", log_scale=True, bins=40, stat="percent",
                 common_norm=False, element="step", alpha=0.35, palette={"positive": PALETTE["accent"], "negative": "grey"}, ax=ax)  # fmt: skip
    ax.xaxis.set_major_formatter(PLAIN_NUMBERS)
    ax.set(ylabel="% of the draws", title=f"Positives are popular movies (median {np.median(positive_popularity):.0f} ratings), "
                                          f"negatives mostly not ({np.median(negative_popularity):.0f})")  # fmt: skip
    return fig


def validation_curves(curves: dict, chosen: dict, metric: str = "recall@10") -> plt.Figure:
    """Validation ``metric`` against epochs, one line per model, the chosen (best) epoch of each marked."""
    fig, ax = plt.subplots(figsize=(8.5, 3.8))
    palette = sns.color_palette("tab10", len(curves))
    for (name, curve), colour in zip(curves.items(), palette):
        ax.plot(curve.index, curve.to_numpy(), color=colour, label=name, linewidth=1.4)
        ax.scatter([chosen[name]], [curve.loc[chosen[name]]], color=colour, s=30, zorder=3)
    ax.set(xlabel="epoch", ylabel=f"validation {metric}", title=f"Each variant's epochs: where its validation {metric} peaked (dots)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False, fontsize=8)
    return fig


def depth_plot(means: pd.Series, stds: pd.Series, baselines: dict) -> plt.Figure:
    """Test Recall@10 of LightGCN against its number of layers K (mean ± std over seeds); other models
    (trained with their own recipes, or not trained at all) as labelled horizontal lines, not joined to it."""
    fig, ax = plt.subplots(figsize=(6.8, 3.4))
    ax.errorbar(means.index, means.to_numpy(), yerr=stds.fillna(0).to_numpy(), marker="o", capsize=3,
                color=PALETTE["accent"], label="LightGCN, K layers (default recipe)")  # fmt: skip
    for (name, value), style in zip(baselines.items(), ("-.", "--", ":")):
        ax.axhline(value, color="grey", linestyle=style, linewidth=1, label=name)
    ax.set(xlabel="number of layers K", ylabel="Recall@10 (test)", title="What propagation adds", xticks=list(means.index))
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1), frameon=False)
    return fig
