"""morphogen.testing's symmetry assertions on functions whose symmetries are known (and on ones that break them)."""
from __future__ import annotations

import pytest
import torch

from morphogen.testing import (
    EquivarianceError, Euclidean, PeriodicTranslation, Permutation, assert_equivariant, assert_invariant,
    random_rotation,
)

G = torch.Generator().manual_seed(0)


def _graph(b=3, n=5, f=2):
    x = torch.randn(b, n, f, generator=G, dtype=torch.float64)
    a = torch.rand(b, n, n, generator=G, dtype=torch.float64)
    mask = torch.ones(b, n, dtype=torch.bool)
    mask[1, 3:] = False
    return x, (a + a.transpose(1, 2)) * mask[:, None, :] * mask[:, :, None], mask


def _message_passing(x, adj, mask):
    """Node outputs (B, N, F), edge outputs (B, N, N) and a graph-level sum: equivariant, equivariant, invariant."""
    m = mask.to(x.dtype)
    h = (adj @ x + x) * m[..., None]
    return {"h": h, "e": adj * (h.sum(-1)[:, :, None] + h.sum(-1)[:, None, :]), "total": h.sum((1, 2))}


def test_permutation_passes_for_an_equivariant_graph_function():
    x, a, mask = _graph()
    group = Permutation({"x": (1,), "adj": (1, 2)}, outputs={"h": (1,), "e": (1, 2)}, mask="mask")
    rep = assert_equivariant(_message_passing, {"x": x, "adj": a, "mask": mask}, group, atol=1e-12)
    assert set(rep.deviations) == {"permutation/h", "permutation/e", "permutation/total"}
    assert rep.max_deviation < 1e-12 and rep.trials == 2


def test_permutation_keeps_padding_in_place():
    x, _, mask = _graph()
    x[1, 3:] = 99.0  # garbage in the padded nodes of sample 1
    seen = []

    def record(x, mask):
        seen.append(x.clone())
        return {"x": x}

    assert_equivariant(record, {"x": x, "mask": mask}, Permutation({"x": (1,)}, {"x": (1,)}, mask="mask"))
    for moved in seen[1:]:
        assert torch.equal(moved[1, 3:], x[1, 3:])  # padding stays; real nodes move among themselves
        assert not torch.equal(moved, x)


def test_permutation_failure_names_output_and_deviation():
    x, a, mask = _graph()

    def positional(x, adj, mask):
        out = _message_passing(x, adj, mask)
        out["h"] = out["h"] + torch.arange(x.shape[1], dtype=x.dtype)[None, :, None]  # depends on node order
        return out

    group = Permutation({"x": (1,), "adj": (1, 2)}, outputs={"h": (1,), "e": (1, 2)}, mask="mask")
    with pytest.raises(EquivarianceError, match=r"node permutation \(trial 0\): output 'h' is not equivariant: "
                                                r"max \|deviation\| [0-9.]+ at index \(\d+, \d+, \d+\)"):
        assert_equivariant(positional, {"x": x, "adj": a, "mask": mask}, group)
    with pytest.raises(EquivarianceError, match="output 'h' is not invariant"):
        assert_invariant(_message_passing, {"x": x, "adj": a, "mask": mask}, group)


def _molecule(pos):
    """Pairwise distances (invariant), centred positions (vectors), the centroid (a point), a signed volume."""
    centred = pos - pos.mean(1, keepdim=True)
    a, b, c = (centred[:, i] for i in range(3))
    return {"dist": torch.cdist(pos, pos), "centred": centred, "centroid": pos.mean(1),
            "volume": torch.linalg.det(torch.stack([a, b, c], 1))}


def test_euclidean_rotation_reflection_translation():
    pos = torch.randn(4, 6, 3, generator=G, dtype=torch.float64)
    rigid = Euclidean({"pos": "point"}, outputs={"centred": "vector", "centroid": "point"},
                      kinds=("rotation", "translation"))
    rep = assert_equivariant(_molecule, {"pos": pos}, rigid, atol=1e-10)
    assert {"rotation/volume", "translation/dist"} <= set(rep.deviations)
    # the signed volume is a pseudo-scalar: invariant under SE(3), not under reflections
    with pytest.raises(EquivarianceError, match=r"Euclidean reflection \(trial 0\): output 'volume' is not invariant"):
        assert_equivariant(_molecule, {"pos": pos}, Euclidean({"pos": "point"}, {"centred": "vector",
                                                                                 "centroid": "point"}), atol=1e-10)
    with pytest.raises(EquivarianceError, match="output 'centroid'"):
        assert_equivariant(_molecule, {"pos": pos}, Euclidean({"pos": "point"}, {"centred": "vector"},
                                                              kinds=("translation",)), atol=1e-10)


def test_euclidean_mask_leaves_padding_untranslated_and_vectors_only_rotate():
    pos = torch.randn(2, 4, 3, generator=G, dtype=torch.float64)
    mask = torch.tensor([[1, 1, 1, 0], [1, 1, 1, 1]], dtype=torch.bool)
    pos[0, 3] = 0.0
    vel = torch.randn(2, 4, 3, generator=G, dtype=torch.float64)

    def f(pos, vel, mask):
        assert torch.all(pos[0, 3] == 0), "padding was moved"
        return {"pos": pos, "vel": vel}

    assert_equivariant(f, {"pos": pos, "vel": vel, "mask": mask},
                       Euclidean({"pos": "point", "vel": "vector"}, {"pos": "vector", "vel": "vector"},
                                 kinds=("rotation", "reflection"), mask="mask"), atol=1e-12)
    with pytest.raises(EquivarianceError, match="translation.*output 'pos' is not equivariant"):
        assert_equivariant(f, {"pos": pos, "vel": vel, "mask": mask},
                           Euclidean({"pos": "point", "vel": "vector"}, {"pos": "vector", "vel": "vector"},
                                     kinds=("translation",), mask="mask"))


def test_random_rotations_are_orthogonal_with_the_asked_determinant():
    r = random_rotation(50, torch.Generator().manual_seed(1))
    eye = torch.eye(3, dtype=torch.float64).expand(50, 3, 3)
    torch.testing.assert_close(r @ r.transpose(1, 2), eye)
    torch.testing.assert_close(torch.linalg.det(r), torch.ones(50, dtype=torch.float64))
    improper = random_rotation(5, G, proper=False)
    torch.testing.assert_close(torch.linalg.det(improper), -torch.ones(5, dtype=torch.float64))


def test_periodic_translations_compare_modulo_the_period():
    frac = torch.rand(3, 5, 3, generator=G, dtype=torch.float64)
    mask = torch.ones(3, 5, dtype=torch.bool)
    mask[2, 4] = False

    def f(frac, mask):
        d = frac[:, :, None] - frac[:, None, :]
        m = mask.to(frac.dtype)
        feat = (torch.cos(2 * torch.pi * d).sum(-1) * m[:, :, None] * m[:, None, :]).sum(-1)  # invariant
        return {"feat": feat, "wrapped": torch.remainder(frac, 1.0) * m[..., None]}

    group = PeriodicTranslation(("frac",), outputs=("wrapped",), mask="mask")
    rep = assert_equivariant(f, {"frac": frac, "mask": mask}, group, atol=1e-9)
    assert set(rep.deviations) == {"integer/feat", "integer/wrapped", "common/feat", "common/wrapped"}
    with pytest.raises(EquivarianceError, match=r"PeriodicTranslation integer \(trial \d\): output 'raw' is not "
                                                r"invariant: max \|deviation\| [0-9.]+"):
        assert_equivariant(lambda frac, mask: {"raw": frac.sum(1)}, {"frac": frac, "mask": mask}, group.invariant())


def test_bad_specifications_are_refused():
    with pytest.raises(ValueError, match="'point' or 'vector'"):
        Euclidean({"pos": "position"})
    with pytest.raises(ValueError, match="kinds"):
        PeriodicTranslation(("frac",), kinds=("rotation",))
    with pytest.raises(KeyError, match="names the outputs \\['nope'\\]"):
        assert_equivariant(lambda x: {"y": x}, {"x": torch.zeros(2, 3, 3)},
                           Euclidean({"x": "vector"}, {"nope": "vector"}))
    with pytest.raises(KeyError, match="names the input 'pos'"):
        assert_equivariant(lambda x: x, {"x": torch.zeros(2, 3, 3)}, Euclidean({"pos": "vector"}))
