"""Plausible wrong answers to the graded questions, each with the words its check's message must
contain. ``tests/test_assignments.py`` runs every one through the question's otter tests (public
and hidden, as the autograder would) and expects a failure: a check that passed one of these would
grade a wrong idea as right."""

import numpy as np
import pandas as pd
import torch

from utils import graph


def index_ids_pandas_map(known_ids, ids):  # the original tutorial's lookup: NaN for unknown ids
    lookup = dict(zip(np.unique(known_ids), range(len(np.unique(known_ids)))))
    return pd.Series(ids).map(lookup).to_numpy()


def index_ids_search_only(known_ids, ids):  # a binary search without checking the id is there
    known = np.unique(known_ids)
    return np.searchsorted(known, ids).clip(max=len(known) - 1)


def index_ids_first_seen(known_ids, ids):  # indices by order of appearance, not sorted
    order = dict.fromkeys(known_ids.tolist())
    lookup = {value: index for index, value in enumerate(order)}
    return np.array([lookup.get(i, -1) for i in ids.tolist()], dtype=np.int64)


def normalize_random_walk(adjacency):  # D^-1 A
    dense = adjacency.to_dense()
    return dense / dense.sum(1, keepdim=True).clamp(min=1)


def normalize_no_zero_guard(adjacency):  # 0 ** -0.5 = inf on a node of degree 0
    dense = adjacency.to_dense()
    inverse_sqrt = dense.sum(1).pow(-0.5)
    return inverse_sqrt[:, None] * dense * inverse_sqrt[None, :]


def normalize_rows_only(adjacency):  # D^-1/2 A: the columns are left unscaled
    dense = adjacency.to_dense()
    return dense / dense.sum(1, keepdim=True).clamp(min=1).sqrt()


def _degrees(users, items, embeddings, num_users):
    return torch.bincount(torch.cat([users, num_users + items]), minlength=len(embeddings))


def propagate_plain_sum(users, items, embeddings, num_users):  # no normalisation
    movies = num_users + items
    out = torch.zeros_like(embeddings)
    out.index_add_(0, users, embeddings[movies])
    return out.index_add_(0, movies, embeddings[users])


def propagate_mean(users, items, embeddings, num_users):  # 1/d_u: the receiver's degree only
    movies = num_users + items
    degrees = _degrees(users, items, embeddings, num_users).clamp(min=1).to(embeddings.dtype)
    out = torch.zeros_like(embeddings)
    out.index_add_(0, users, embeddings[movies] / degrees[users, None])
    return out.index_add_(0, movies, embeddings[users] / degrees[movies, None])


def propagate_one_way(users, items, embeddings, num_users):  # movies -> users only
    movies = num_users + items
    degrees = _degrees(users, items, embeddings, num_users).to(embeddings.dtype)
    weight = (degrees[users] * degrees[movies]).rsqrt()[:, None]
    return torch.zeros_like(embeddings).index_add_(0, users, weight * embeddings[movies])


def _layers(normalized_adjacency, layer0, num_layers):
    layers = [layer0]
    for _ in range(num_layers):
        layers.append(torch.sparse.mm(normalized_adjacency, layers[-1]))
    return layers


def embeddings_sum(normalized_adjacency, layer0, num_layers):  # a sum instead of the mean
    return sum(_layers(normalized_adjacency, layer0, num_layers))


def embeddings_last_layer(normalized_adjacency, layer0, num_layers):  # E^(K) alone
    return _layers(normalized_adjacency, layer0, num_layers)[-1]


def embeddings_without_layer0(normalized_adjacency, layer0, num_layers):  # mean of E^(1..K)
    layers = _layers(normalized_adjacency, layer0, num_layers)
    return torch.stack(layers[1:] if num_layers else layers).mean(0)


def sample_any_movie(users, rated, num_negatives, generator):  # positives allowed as negatives
    return torch.randint(rated.shape[1], (len(users), num_negatives), generator=generator)


def sample_first_unrated(users, rated, num_negatives, generator):  # never random
    first = (~rated).to(torch.int8).argmax(dim=1)
    return first[users][:, None].expand(-1, num_negatives).clone()


def sample_rejecting_other_user(users, rated, num_negatives, generator):  # checks user 0's row
    negatives = torch.randint(rated.shape[1], (len(users), num_negatives), generator=generator)
    clash = rated[0][negatives]
    while clash.any():
        negatives[clash] = torch.randint(rated.shape[1], (int(clash.sum()),), generator=generator)
        clash = rated[0][negatives]
    return negatives


def bpr_first_negative(positive_scores, negative_scores):  # the first negative only
    return torch.nn.functional.softplus(negative_scores[:, 0] - positive_scores).mean()


def bpr_sum(positive_scores, negative_scores):  # a sum instead of the mean
    return torch.nn.functional.softplus(negative_scores - positive_scores[:, None]).sum()


def bpr_naive_log_sigmoid(positive_scores, negative_scores):  # -ln σ overflows: inf at ±60
    difference = positive_scores[:, None] - negative_scores
    return -torch.log(1 / (1 + torch.exp(-difference))).mean()


def bpr_swapped(positive_scores, negative_scores):  # the negative scored as the positive
    return torch.nn.functional.softplus(positive_scores[:, None] - negative_scores).mean()


def _loss(model, adjacency, users, positives, negatives, weight_decay, tables=False):
    user_final, item_final = model.get_embedding(adjacency)
    positive_scores = (user_final[users] * item_final[positives]).sum(dim=1)
    negative_scores = (user_final[users] * item_final[negatives]).sum(dim=1)
    bpr = torch.nn.functional.softplus(negative_scores - positive_scores).mean()
    user_table, item_table = model.layer0_tables()
    if tables:
        l2 = user_table.pow(2).sum() + item_table.pow(2).sum()
    else:
        rows = (user_table[users], item_table[positives], item_table[negatives])
        l2 = sum(r.pow(2).sum() for r in rows) / (2 * len(users))
    return bpr + weight_decay * l2


def step_without_zero_grad(model, optimizer, adjacency, users, positives, negatives, weight_decay):
    loss = _loss(model, adjacency, users, positives, negatives, weight_decay)
    loss.backward()  # gradients add up across steps
    optimizer.step()
    return loss.detach()


def step_l2_on_tables(model, optimizer, adjacency, users, positives, negatives, weight_decay):
    loss = _loss(model, adjacency, users, positives, negatives, weight_decay, tables=True)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def step_without_optimizer_step(model, optimizer, adjacency, users, positives, negatives, weight_decay):
    loss = _loss(model, adjacency, users, positives, negatives, weight_decay)
    optimizer.zero_grad()
    loss.backward()
    return loss.detach()


def step_without_l2(model, optimizer, adjacency, users, positives, negatives, weight_decay):
    loss = _loss(model, adjacency, users, positives, negatives, 0.0)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    return loss.detach()


def top_k_no_mask(scores, rated, k):  # training movies left in the ranking
    return scores.topk(k, dim=1).indices


def top_k_mask_with_zero(scores, rated, k):  # 0 is not below a negative score
    return scores.masked_fill(rated, 0.0).topk(k, dim=1).indices


def top_k_ascending(scores, rated, k):  # worst first
    return scores.masked_fill(rated, -torch.inf).topk(k, dim=1).indices.flip(1)


def _hits(top_k, test_items):
    return torch.tensor([[m in set(t) for m in row.tolist()] for row, t in zip(top_k, test_items)],
                        dtype=torch.float64)


def recall_over_k(top_k, test_items):  # the denominator K: that is precision
    return _hits(top_k, test_items).sum(1) / top_k.shape[1]


def recall_over_min_k(top_k, test_items):  # min(K, |T_u|)
    sizes = torch.tensor([len(t) for t in test_items], dtype=torch.float64)
    return _hits(top_k, test_items).sum(1) / sizes.clamp(max=top_k.shape[1])


def recall_dropping_unseen(top_k, test_items):  # unseen test movies (-1) dropped from |T_u|
    sizes = torch.tensor([sum(m >= 0 for m in t) for t in test_items], dtype=torch.float64)
    return _hits(top_k, test_items).sum(1) / sizes


def _discounts(k):
    return 1 / torch.log2(torch.arange(2, k + 2, dtype=torch.float64))


def ndcg_dcg_only(top_k, test_items):  # no ideal DCG
    return (_hits(top_k, test_items) * _discounts(top_k.shape[1])).sum(1)


def ndcg_ideal_k_hits(top_k, test_items):  # the ideal list with K hits, whatever |T_u|
    discounts = _discounts(top_k.shape[1])
    return (_hits(top_k, test_items) * discounts).sum(1) / discounts.sum()


def ndcg_log_rank(top_k, test_items):  # 1 / log2(r): infinite at rank 1
    k = top_k.shape[1]
    discounts = 1 / torch.log2(torch.arange(1, k + 1, dtype=torch.float64))
    dcg = (_hits(top_k, test_items) * discounts).sum(1)
    ideal = torch.stack([discounts[: min(k, len(t))].sum() for t in test_items])
    return dcg / ideal


def _bigger_graph(model, train_users, train_items, liked_items):
    users = np.append(train_users, [model.num_users] * len(liked_items))
    items = np.append(train_items, liked_items)
    return graph.normalized_bipartite_adjacency(users, items, model.num_users + 1,
                                                model.num_items).to(torch.float64)


def fold_in_mean_start(model, train_users, train_items, liked_items):  # a made-up layer-0 row
    user_table, item_table = model.layer0_tables()
    start = item_table[liked_items].mean(0, keepdim=True)
    layer0 = torch.cat([user_table, start, item_table]).detach()
    layers = _layers(_bigger_graph(model, train_users, train_items, liked_items), layer0,
                     model.num_layers)
    return sum(a * layer for a, layer in zip(model.layer_weights, layers))[model.num_users]


def fold_in_old_graph(model, train_users, train_items, liked_items):  # the trained movies' final
    # embeddings, summed with 1/sqrt(|L| d_i): the movies' degrees miss the new user (d_i, not d_i + 1)
    adjacency = graph.normalized_bipartite_adjacency(train_users, train_items, model.num_users,
                                                     model.num_items).to(torch.float64)
    with torch.no_grad():
        _, item_final = model.get_embedding(adjacency)
    degrees = np.bincount(train_items, minlength=model.num_items)[liked_items]
    weights = torch.tensor(1 / np.sqrt(len(liked_items) * np.maximum(degrees, 1)))
    return (weights[:, None] * item_final[liked_items]).sum(0)


def polynomial_all_pairs(layer_weights):  # even sums counted too
    coefficients = np.zeros(len(layer_weights))
    for a, alpha_a in enumerate(layer_weights):
        for b, alpha_b in enumerate(layer_weights):
            coefficients[min((a + b) // 2, len(layer_weights) - 1)] += alpha_a * alpha_b
    return coefficients


def polynomial_ordered_pairs(layer_weights):  # a < b only: (b, a) forgotten
    coefficients = np.zeros(len(layer_weights))
    for a, alpha_a in enumerate(layer_weights):
        for b in range(a + 1, len(layer_weights)):
            if (a + b) % 2 == 1:
                coefficients[(a + b) // 2] += alpha_a * layer_weights[b]
    return coefficients


def polynomial_index_by_sum(layer_weights):  # c indexed by a + b, not (a + b) // 2
    coefficients = np.zeros(2 * len(layer_weights))
    for a, alpha_a in enumerate(layer_weights):
        for b, alpha_b in enumerate(layer_weights):
            if (a + b) % 2 == 1:
                coefficients[a + b] += alpha_a * alpha_b
    return coefficients


def normalize_by_the_library(adjacency):  # the series' own version, called
    return graph.normalize_adjacency(adjacency)


def bpr_by_the_library(positive_scores, negative_scores):  # the series' own version, called
    from utils import losses

    return losses.bpr_loss(positive_scores[:, None], negative_scores)



#: question -> [(wrong answer, words its check must say)]
WRONG_ANSWERS = {
    "index_ids": [(index_ids_pandas_map, "floats"), (index_ids_search_only, "UNSEEN"),
                  (index_ids_first_seen, "sorted")],
    "normalize": [(normalize_random_walk, "D^-1 A"), (normalize_no_zero_guard, "degree 0"),
                  (normalize_rows_only, "symmetric"),
                  (normalize_by_the_library, "uses the library's `normalize_adjacency`")],
    "propagate_once": [(propagate_plain_sum, "plain sum"), (propagate_mean, "mean"),
                       (propagate_one_way, "both ways")],
    "lightgcn_embeddings": [(embeddings_sum, "summed"), (embeddings_last_layer, "last layer"),
                            (embeddings_without_layer0, "E^(0)")],
    "sample_negatives": [(sample_any_movie, "rated"), (sample_first_unrated, "never drew"),
                         (sample_rejecting_other_user, "rated")],
    "bpr_loss": [(bpr_first_negative, "first negative"), (bpr_sum, "sum"),
                 (bpr_naive_log_sigmoid, "softplus"), (bpr_swapped, "swapped"),
                 (bpr_by_the_library, "uses the library's `losses`")],
    "bpr_step": [(step_without_zero_grad, "zero_grad"), (step_l2_on_tables, "L2"),
                 (step_without_optimizer_step, "optimizer.step()"), (step_without_l2, "BPR alone")],
    "top_k_unseen": [(top_k_no_mask, "rated in training"), (top_k_mask_with_zero, "-inf"),
                     (top_k_ascending, "increasing order")],
    "recall_at_k": [(recall_over_k, "divided by K"), (recall_over_min_k, "min(K, |T_u|)"),
                    (recall_dropping_unseen, "never occurs in training")],
    "ndcg_at_k": [(ndcg_dcg_only, "ideal DCG"), (ndcg_ideal_k_hits, "K hits"),
                  (ndcg_log_rank, "NaN or infinite")],
    "fold_in_user": [(fold_in_mean_start, "zeros"), (fold_in_old_graph, "bigger graph")],
    "lightgcn_polynomial": [(polynomial_all_pairs, "odd"), (polynomial_ordered_pairs, "twice"),
                            (polynomial_index_by_sum, "coefficients")],
}
