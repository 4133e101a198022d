"""GDSS networks: permutation equivariance, padding invariance, symmetry; the S4 sampler on a Gaussian oracle."""
import pytest
import torch

from morphogen.graphs.data.dense import graph_masks
from morphogen.graphs.models import GDSSDenoiser, ScoreNetworkA, ScoreNetworkX
from morphogen.processes.base import FieldState
from morphogen.testing import Permutation, assert_equivariant


def _model(f=4):
    torch.manual_seed(0)
    return GDSSDenoiser(ScoreNetworkX(f, depth=2, hidden=16),
                        ScoreNetworkA(f, hidden=16, attn_dim=16, num_layers=3, num_linears=2)).double()


def _inputs(b=3, n=7, f=4, seed=1):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(b, n, f, generator=g, dtype=torch.float64)
    a = torch.randn(b, n, n, generator=g, dtype=torch.float64).triu(1)
    return x, a + a.transpose(1, 2)


def _state(x, a, mask=None):
    t = torch.zeros(x.shape[0], dtype=x.dtype)
    m = graph_masks(mask) if mask is not None else {"X": None, "A": None}
    return {"X": FieldState(x, t, m["X"]), "A": FieldState(a, t, m["A"])}


@pytest.mark.parametrize("padded", [False, True])
def test_permutation_equivariance(padded):
    """Node scores move with the nodes, edge scores with both ends; with padding, each graph permutes its real
    nodes among themselves (one graph has 4 of 7)."""
    net = _model()
    x, a = _inputs()
    mask = torch.ones(3, 7, dtype=torch.bool)
    if padded:
        mask[1, 4:] = False
        x, a = x * mask[..., None], a * mask[:, None, :] * mask[:, :, None]
    inputs = {"x": x, "a": a, "mask": mask}
    group = Permutation({"x": (1,), "a": (1, 2), "mask": (1,)}, outputs={"X": (1,), "A": (1, 2)},
                        mask="mask" if padded else None)
    assert_equivariant(lambda x, a, mask: net(_state(x, a, mask if padded else None)), inputs, group, atol=1e-10,
                       rtol=0.0, trials=3)


def test_adjacency_output_symmetric_zero_diagonal():
    out = _model()(_state(*_inputs()))["A"]
    assert torch.equal(out, out.transpose(1, 2))
    assert out.diagonal(dim1=1, dim2=2).abs().max() == 0


def test_padding_changes_nothing():
    net = _model()
    x, a = _inputs(n=6)
    mask = torch.ones(3, 6, dtype=torch.bool)
    base = net(_state(x, a, mask))
    # pad to 10 nodes with garbage in the padded entries
    xp = torch.randn(3, 10, 4, dtype=torch.float64)
    ap = torch.randn(3, 10, 10, dtype=torch.float64)
    ap = ap + ap.transpose(1, 2)
    xp[:, :6], ap[:, :6, :6] = x, a
    mp = torch.zeros(3, 10, dtype=torch.bool)
    mp[:, :6] = True
    out = net(_state(xp, ap, mp))
    assert torch.allclose(out["X"][:, :6], base["X"], atol=1e-10)
    assert torch.allclose(out["A"][:, :6, :6], base["A"], atol=1e-10)
    assert out["X"][:, 6:].abs().max() == 0 and out["A"][:, 6:].abs().max() == 0 and out["A"][:, :, 6:].abs().max() == 0


@pytest.mark.parametrize("schedule", ["VE", "VPLinear"])
def test_s4_recovers_gaussian_with_exact_score(schedule):
    """S4 with the exact score of N(mu, s^2) data ends near that Gaussian (scale_eps = 1); GDSS's scale_eps = 0.7
    shrinks the spread on purpose (less corrector noise)."""
    from morphogen.processes import GaussianProcess, JointProcess
    from morphogen.samplers import get_sampler
    from morphogen.schedules import VE, VPLinear

    mu, s = 2.0, 0.5
    sched = VE(sigma_min=0.01, sigma_max=5.0, eps=1e-4) if schedule == "VE" else VPLinear(eps=1e-4)
    joint = JointProcess({"x": GaussianProcess(sched)})

    class Oracle:
        prediction_kinds = {"x": "score"}

        def __call__(self, state, condition=None, drop_condition=None):
            st = state["x"]
            a, sg = sched.alpha(st.t)[:, None], sched.sigma(st.t)[:, None]
            return {"x": -(st.value - a * mu) / (a * a * s * s + sg * sg)}

    def run(scale_eps):
        return get_sampler("s4", steps=200, snr=0.2, scale_eps=scale_eps, step_rule="score_norm").sample(
            joint, Oracle(), {"x": (4000, 1)}, generator=torch.Generator().manual_seed(0))

    out = run(1.0)
    x = out.fields["x"]
    assert out.nfe == 200
    assert abs(float(x.mean()) - mu) < 0.05 and abs(float(x.std()) - s) < 0.03
    assert float(run(0.7).fields["x"].std()) < 0.8 * s


def test_s4_final_denoise_is_tweedie_at_the_end():
    """final="denoise": one more evaluation (NFE = steps + 1) at the last mean, returning E[x1 | x] = x + sigma^2 s.
    With the exact score of N(mu, s^2) data under VE noise that ends at sigma_min, the chain ends near
    N(mu, s^2 + sigma_min^2) and the denoised sample has std s^2 / sqrt(s^2 + sigma_min^2)."""
    from morphogen.processes import GaussianProcess, JointProcess
    from morphogen.samplers import get_sampler
    from morphogen.schedules import VE

    mu, s, smin = 1.0, 0.3, 0.4
    sched = VE(sigma_min=smin, sigma_max=3.0, eps=1e-4)
    joint = JointProcess({"x": GaussianProcess(sched)})

    class Oracle:
        prediction_kinds = {"x": "score"}

        def __call__(self, state, condition=None, drop_condition=None):
            st = state["x"]
            return {"x": -(st.value - mu) / (s * s + sched.sigma(st.t)[:, None] ** 2)}

    def run(final):
        return get_sampler("s4", steps=200, snr=0.2, scale_eps=1.0, final=final).sample(
            joint, Oracle(), {"x": (4000, 1)}, generator=torch.Generator().manual_seed(0))

    plain, den = run("mean"), run("denoise")
    assert plain.nfe == 200 and den.nfe == 201
    end = (s * s + smin * smin) ** 0.5
    assert abs(float(plain.fields["x"].std()) - end) < 0.05 * end
    assert abs(float(den.fields["x"].std()) - s * s / end) < 0.05 * s * s / end
    assert abs(float(den.fields["x"].mean()) - mu) < 0.02
    with pytest.raises(ValueError, match="final"):
        get_sampler("s4", final="other")


def test_s4_langevin_step_is_gdss_score_norm_rule():
    """GDSS's S4: e = 2 alpha (snr ||z|| / ||s||)^2 with both norms over each sample, averaged over the batch."""
    from morphogen.graphs.samplers.s4 import S4Solver, langevin_step_size

    score = torch.tensor([[3.0, 4.0], [0.0, 10.0]])  # norms 5 and 10, mean 7.5
    noise = torch.tensor([[1.0, 0.0], [0.0, 3.0]])  # norms 1 and 3, mean 2
    alpha = torch.tensor([1.0, 0.5])
    e = langevin_step_size(score, noise, 0.2, alpha)
    torch.testing.assert_close(e, 2 * alpha * (0.2 * 2.0 / 7.5) ** 2)
    torch.testing.assert_close(langevin_step_size(score, noise, 0.2, alpha, "noise_norm"), 2 * alpha * 0.04)
    assert S4Solver().step_rule == "score_norm" and S4Solver(step_rule="noise_norm").step_rule == "noise_norm"
    for old in ("other", "gdss", "song"):  # the old names live only in morphogen.graphs.legacy (old model files)
        with pytest.raises(ValueError, match="step_rule"):
            S4Solver(step_rule=old)


def test_s4_refuses_flow_matching_and_survives_few_steps():
    """S4 runs the forward transition backwards from t = 0: flow matching (alpha(0) = 0) is refused before any
    evaluation; on VP with fewer steps than beta_max its corrector factor 1 - beta/steps is clamped at 0."""
    from morphogen.processes import FlowMatching, GaussianProcess, JointProcess
    from morphogen.samplers import IncompatibleSamplerError, get_sampler
    from morphogen.schedules import VPLinear

    calls = []

    class Zero:
        prediction_kinds = {"x": "score"}

        def __call__(self, state, condition=None, drop_condition=None):
            calls.append(1)
            return {"x": torch.zeros_like(state["x"].value)}

    with pytest.raises(IncompatibleSamplerError, match=r"field 'x' uses FlowMatching .*alpha\(0\) = 0"):
        get_sampler("s4", steps=5).sample(JointProcess({"x": FlowMatching()}), Zero(), {"x": (4, 2)})
    assert not calls
    out = get_sampler("s4", steps=5).sample(JointProcess({"x": GaussianProcess(VPLinear())}), Zero(), {"x": (4, 2)},
                                            generator=torch.Generator().manual_seed(0))
    assert torch.isfinite(out.fields["x"]).all() and out.nfe == 5
