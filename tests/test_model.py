"""LightGCN against a dense float64 reference: forward pass and gradients."""

import numpy as np
import pytest
import torch

from utils.graph import normalized_bipartite_adjacency
from utils.models import LightGCN, NGCFStyle


def random_graph(seed, num_users=7, num_items=9, count=25):
    rng = np.random.default_rng(seed)
    return rng.integers(num_users, size=count), rng.integers(num_items, size=count), num_users, num_items


def dense_lightgcn(normalized, E0, weights):
    """Σ_k α_k Â^k E0, in float64."""
    out, layer = weights[0] * E0, E0
    for weight in weights[1:]:
        layer = normalized @ layer
        out = out + weight * layer
    return out


@pytest.mark.parametrize(("seed", "num_layers"), [(0, 0), (1, 1), (2, 3), (3, 4)])
def test_forward_matches_dense_reference(seed, num_layers):
    users, items, U, I = random_graph(seed)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    torch.manual_seed(seed)
    model = LightGCN(U, I, embedding_dim=5, num_layers=num_layers)
    E0 = torch.cat([model.user_embedding.weight, model.item_embedding.weight]).detach().double()
    weights = [1 / (num_layers + 1)] * (num_layers + 1)
    expected = dense_lightgcn(normalized.to_dense().double(), E0, weights)
    user_final, item_final = model.get_embedding(normalized)
    torch.testing.assert_close(torch.cat([user_final, item_final]).double(), expected, rtol=1e-5, atol=1e-6)
    pairs_u, pairs_i = torch.tensor([0, 3, 6]), torch.tensor([8, 0, 4])
    torch.testing.assert_close(
        model(normalized, pairs_u, pairs_i).double(),
        (expected[pairs_u] * expected[U + pairs_i]).sum(1),
        rtol=1e-5,
        atol=1e-6,
    )


def test_forward_scores_a_row_of_movies_per_user():
    """``model(A, users, items)`` with ``items`` of shape (batch, m): the scores BPR compares."""
    users, items, U, I = random_graph(8)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    model = LightGCN(U, I, embedding_dim=5, num_layers=2)
    final = dense_lightgcn(normalized.to_dense().double(), torch.cat(model.layer0_tables()).detach().double(), [1 / 3] * 3)
    batch_users, batch_items = torch.tensor([0, 3, 3, 6]), torch.tensor([[8, 1, 2], [0, 0, 5], [4, 7, 3], [2, 6, 1]])
    expected = torch.stack([final[U + row] @ final[u] for u, row in zip(batch_users, batch_items)])
    torch.testing.assert_close(model(normalized, batch_users, batch_items).double(), expected, rtol=1e-5, atol=1e-6)


def test_custom_layer_weights():
    users, items, U, I = random_graph(4)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    model = LightGCN(U, I, embedding_dim=3, num_layers=2, layer_weights=[0.0, 0.0, 1.0])
    E0 = torch.cat([model.user_embedding.weight, model.item_embedding.weight]).detach()
    A = normalized.to_dense()
    torch.testing.assert_close(torch.cat(model.get_embedding(normalized)).detach(), A @ (A @ E0), rtol=1e-5, atol=1e-6)


def test_gradients_match_dense_reference():
    users, items, U, I = random_graph(7)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    torch.manual_seed(0)
    model = LightGCN(U, I, embedding_dim=4, num_layers=3)
    target = torch.randn(U + I, 4, dtype=torch.float64)

    user_final, item_final = model.get_embedding(normalized)
    loss = ((torch.cat([user_final, item_final]).double() - target) ** 2).sum()
    loss.backward()

    E0 = torch.cat([model.user_embedding.weight, model.item_embedding.weight]).detach().double().requires_grad_()
    reference = dense_lightgcn(normalized.to_dense().double(), E0, [0.25] * 4)
    ((reference - target) ** 2).sum().backward()
    torch.testing.assert_close(model.user_embedding.weight.grad.double(), E0.grad[:U], rtol=1e-4, atol=1e-6)
    torch.testing.assert_close(model.item_embedding.weight.grad.double(), E0.grad[U:], rtol=1e-4, atol=1e-6)


def test_two_backward_passes_need_no_retain_graph():
    """No in-place update of a tensor autograd still needs: a fresh graph per step works."""
    users, items, U, I = random_graph(1)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    model = LightGCN(U, I, embedding_dim=4, num_layers=2)
    for _ in range(2):
        model(normalized, torch.tensor([0, 1]), torch.tensor([2, 3])).sum().backward()
    assert model.user_embedding.weight.grad is not None


def test_initialisation_and_arguments():
    model = LightGCN(50, 80, embedding_dim=64, num_layers=3)
    assert model.layer_weights.tolist() == [0.25] * 4
    assert model.user_embedding.weight.std().item() == pytest.approx(0.1, rel=0.1)
    with pytest.raises(ValueError, match="needs 3 values"):
        LightGCN(5, 5, num_layers=2, layer_weights=[0.5, 0.5])
    with pytest.raises(ValueError, match="num_layers"):
        LightGCN(5, 5, num_layers=-1)


def test_ngcf_style_without_its_pieces_is_lightgcn():
    users, items, U, I = random_graph(5)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    torch.manual_seed(0)
    light = LightGCN(U, I, embedding_dim=4, num_layers=2)
    plain = NGCFStyle(U, I, embedding_dim=4, num_layers=2, feature_transform=False, nonlinear=False)
    plain.load_state_dict(light.state_dict())
    for ours, theirs in zip(light.get_embedding(normalized), plain.get_embedding(normalized)):
        torch.testing.assert_close(ours, theirs)


def test_ngcf_style_layer_formula():
    users, items, U, I = random_graph(6)
    normalized = normalized_bipartite_adjacency(users, items, U, I)
    model = NGCFStyle(U, I, embedding_dim=3, num_layers=2)
    assert len(model.transforms) == 2 and sum(p.numel() for p in model.parameters()) == (U + I) * 3 + 2 * 9
    A = normalized.to_dense().double()
    E = torch.cat([model.user_embedding.weight, model.item_embedding.weight]).detach().double()
    expected = [E]
    for transform in model.transforms:
        expected.append(torch.nn.functional.leaky_relu(A @ expected[-1] @ transform.weight.detach().double().T, 0.2))
    for ours, reference in zip(model.layer_embeddings(normalized), expected):
        torch.testing.assert_close(ours.detach().double(), reference, rtol=1e-5, atol=1e-6)
    linear_only = NGCFStyle(U, I, embedding_dim=3, num_layers=2, nonlinear=False)
    assert not linear_only.nonlinear and len(linear_only.transforms) == 2


@pytest.mark.parametrize("model_class", [LightGCN, NGCFStyle])
def test_a_seed_gives_every_model_class_the_same_layer0(model_class):
    torch.manual_seed(11)
    reference = LightGCN(9, 13, embedding_dim=6, num_layers=2)
    torch.manual_seed(11)
    other = model_class(9, 13, embedding_dim=6, num_layers=2)
    torch.testing.assert_close(other.user_embedding.weight, reference.user_embedding.weight, rtol=0, atol=0)
    torch.testing.assert_close(other.item_embedding.weight, reference.item_embedding.weight, rtol=0, atol=0)


def test_constructor_args_rebuild_the_same_model():
    model = NGCFStyle(6, 7, embedding_dim=3, num_layers=2, layer_weights=[0.5, 0.25, 0.25], feature_transform=False)
    args = model.constructor_args()
    assert args == {"num_users": 6, "num_items": 7, "embedding_dim": 3, "num_layers": 2, "layer_weights": [0.5, 0.25, 0.25],
                    "init_std": 0.1, "feature_transform": False, "nonlinear": True}
    rebuilt = NGCFStyle(**args)
    rebuilt.load_state_dict(model.state_dict())
    users, items, U, I = random_graph(2, 6, 7)
    A = normalized_bipartite_adjacency(users, items, U, I)
    for ours, theirs in zip(model.get_embedding(A), rebuilt.get_embedding(A)):
        torch.testing.assert_close(ours, theirs)


class Scaled(LightGCN):
    """A variant that states only the argument it adds."""

    def __init__(self, *args, scale: float = 2.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.scale = scale


class ScaledAndShifted(Scaled):
    def __init__(self, *args, shift: float = 0.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.shift = shift


class Spelled(LightGCN):
    """A variant that spells out its whole signature (and fixes init_std): only these are its arguments."""

    def __init__(self, num_users, num_items, embedding_dim=8, num_layers=1, width=3):
        super().__init__(num_users, num_items, embedding_dim, num_layers)
        self.width = width


def test_a_variant_names_only_what_it_adds_and_its_arguments_are_collected_up_the_classes():
    lightgcn = ("embedding_dim", "num_layers", "layer_weights", "init_std")
    assert LightGCN.argument_names() == lightgcn
    assert Scaled.argument_names() == (*lightgcn, "scale")
    assert ScaledAndShifted.argument_names() == (*lightgcn, "scale", "shift")
    assert Spelled.argument_names() == ("embedding_dim", "num_layers", "width")  # it passes nothing more up
    model = ScaledAndShifted(6, 7, 3, num_layers=2, layer_weights=[0.5, 0.25, 0.25], shift=0.5)  # positional or by name
    args = model.constructor_args()
    assert args == {"num_users": 6, "num_items": 7, "embedding_dim": 3, "num_layers": 2, "layer_weights": [0.5, 0.25, 0.25],
                    "init_std": 0.1, "scale": 2.0, "shift": 0.5}  # fmt: skip
    rebuilt = ScaledAndShifted(**args)
    assert rebuilt.constructor_args() == args and rebuilt.user_embedding.weight.shape == (6, 3)
    assert Spelled(4, 5).constructor_args() == {"num_users": 4, "num_items": 5, "embedding_dim": 8, "num_layers": 1, "width": 3}


def test_every_variant_declares_the_whole_set_of_arguments():
    from utils.models import DirectAULightGCN, LightGCNOnEASE, SimGCL, SoftmaxLightGCN

    lightgcn = LightGCN.argument_names()
    assert NGCFStyle.argument_names() == (*lightgcn, "feature_transform", "nonlinear")
    assert SoftmaxLightGCN.argument_names() == (*lightgcn, "temperature", "cosine")
    assert DirectAULightGCN.argument_names() == (*lightgcn, "uniformity_weight")
    assert SimGCL.argument_names() == (*lightgcn, "noise_magnitude", "contrastive_weight", "contrastive_temperature")
    assert LightGCNOnEASE.argument_names() == (*lightgcn, "ease_weight", "ease_regularization")


def test_an_argument_not_stored_is_a_clear_error():
    class Forgetful(LightGCN):
        def __init__(self, *args, depth: int = 1, **kwargs):
            super().__init__(*args, **kwargs)

    with pytest.raises(AttributeError, match="Forgetful must store its argument 'depth' as self.depth"):
        Forgetful(3, 4).constructor_args()


def test_fold_in_is_the_new_users_row_of_the_bigger_graph():
    """A new user = a node with a zero layer-0 embedding, linked to its movies; dense float64 check."""
    users, items, U, I = random_graph(3)
    model = LightGCN(U, I, embedding_dim=4, num_layers=3)
    liked = [1, 4, 8]
    bigger_users, bigger_items = np.concatenate([users, [U] * len(liked)]), np.concatenate([items, liked])
    bigger = normalized_bipartite_adjacency(bigger_users, bigger_items, U + 1, I)
    new_user, item_final = model.fold_in(bigger, 1)
    E0 = torch.cat([model.user_embedding.weight.detach(), torch.zeros(1, 4), model.item_embedding.weight.detach()]).double()
    expected = dense_lightgcn(bigger.to_dense().double(), E0, [0.25] * 4)
    torch.testing.assert_close(new_user.detach().double(), expected[U : U + 1], rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(item_final.detach().double(), expected[U + 1 :], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="must have"):
        model.fold_in(normalized_bipartite_adjacency(users, items, U, I), 1)


def test_fold_in_refuses_models_it_cannot_invert():
    from utils.models import FoldInError

    users, items, U, I = random_graph(4)
    bigger = normalized_bipartite_adjacency(np.append(users, U), np.append(items, 2), U + 1, I)
    with pytest.raises(FoldInError, match="NGCF-style model cannot place a new user"):
        NGCFStyle(U, I, embedding_dim=4, num_layers=2).fold_in(bigger, 1)
    with pytest.raises(FoldInError, match="0 layers"):
        LightGCN(U, I, embedding_dim=4, num_layers=0).fold_in(bigger, 1)
    # Without its two pieces the NGCF-style model is LightGCN, and places new users like it.
    plain = NGCFStyle(U, I, embedding_dim=4, num_layers=2, feature_transform=False, nonlinear=False)
    assert plain.fold_in(bigger, 1)[0].shape == (1, 4)
