"""Echo-DND's two chains against closed forms, the dual denoiser reading both chains, the fused segmentation, the
objective's coherence terms, and few-step sampling with an oracle denoiser."""
from __future__ import annotations

import math

import pytest
import torch

from morphogen.medical.models.bundle import SegmentationModel
from morphogen.medical.models.objective import DualNoiseObjective, coherence_loss, soft_dice_loss
from morphogen.medical.models.unet import COHERENCE, DualNoiseUNet
from morphogen.processes.base import FieldState
from morphogen.processes.bernoulli import BernoulliDiffusion
from morphogen.processes.gaussian import GaussianProcess
from morphogen.processes.joint import JointProcess
from morphogen.samplers.ancestral import Ancestral
from morphogen.schedules.discrete import CosineKeep
from morphogen.schedules.gaussian import VPCosine

N = 200_000


def test_bernoulli_corruption_flips_at_the_closed_form_rate():
    proc = BernoulliDiffusion(CosineKeep())
    g = torch.Generator().manual_seed(0)
    for tv in (0.1, 0.5, 0.9):
        a = 1 - math.cos(math.pi * tv / 2)
        for x in (0.0, 1.0):
            x1 = torch.full((N, 1), x)
            xt = proc.corrupt(x1, torch.full((N,), tv), generator=g).state.value
            p_one = a * x + (1 - a) / 2  # q(x_t = 1 | x1)
            assert abs(xt.mean().item() - p_one) < 4 * math.sqrt(p_one * (1 - p_one) / N) + 1e-4


def bernoulli_posterior(xt: float, p1: float, a_t: float, a_s: float) -> float:
    """sum_x1 P(x1) q(x_s = 1 | x_t, x1) with P(x1 = 1) = p1 the denoiser's prediction, each q by Bayes on the chain
    x1 -> x_s -> x_t of symmetric flips (keep a_s from x1 to x_s, a_t / a_s from x_s to x_t)."""
    def q(x_to, x_from, keep):  # P(next = x_to | prev = x_from): kept with prob `keep`, else uniform
        return keep * (x_to == x_from) + (1 - keep) / 2
    total = 0.0
    for x1, w in ((0, 1 - p1), (1, p1)):
        joint = {xs: q(xs, x1, a_s) * q(xt, xs, a_t / a_s) for xs in (0, 1)}
        total += w * joint[1] / (joint[0] + joint[1])
    return total


@pytest.mark.parametrize("xt", [0.0, 1.0])
def test_bernoulli_reverse_step_samples_the_bayes_posterior(xt):
    proc = BernoulliDiffusion(CosineKeep())
    g = torch.Generator().manual_seed(1)
    t, s, p1 = 0.3, 0.6, 0.8
    a_t, a_s = (1 - math.cos(math.pi * v / 2) for v in (t, s))
    state = FieldState(torch.full((N, 1), xt), torch.full((N,), t))
    logit = torch.full((N, 1), math.log(p1 / (1 - p1)))
    nxt = proc.reverse_step(state, logit, "logits", torch.full((N,), s), generator=g).value
    want = bernoulli_posterior(xt, p1, a_t, a_s)
    assert abs(nxt.mean().item() - want) < 4 * math.sqrt(want * (1 - want) / N) + 1e-4


def test_gaussian_corruption_and_reverse_step_against_the_ddpm_posterior():
    proc = GaussianProcess(VPCosine(), loss_kind="x1")
    g = torch.Generator().manual_seed(2)
    sch = proc.schedule
    t, s = 0.4, 0.7
    tt, ss = torch.tensor([t]), torch.tensor([s])
    a_t, s_t, a_s, s_s = (float(f(v)) for f, v in ((sch.alpha, tt), (sch.sigma, tt), (sch.alpha, ss), (sch.sigma, ss)))
    x1 = torch.ones(N, 1)
    xt = proc.corrupt(x1, torch.full((N,), t), generator=g).state.value
    assert abs(xt.mean().item() - a_t) < 0.01 and abs(xt.std().item() - s_t) < 0.01
    # posterior q(x_s | x_t, x1) with x_t = a_t/a_s x_s + noise of variance v = s_t^2 - (a_t/a_s)^2 s_s^2
    x0 = 0.3
    r = a_t / a_s
    v = s_t**2 - r**2 * s_s**2
    mean = (r * s_s**2 * x0 + a_s * v * 1.0) / s_t**2
    var = v * s_s**2 / s_t**2
    state = FieldState(torch.full((N, 1), x0), torch.full((N,), t))
    nxt = proc.reverse_step(state, torch.ones(N, 1), "x1", torch.full((N,), s), generator=g).value
    assert abs(nxt.mean().item() - mean) < 0.01
    assert abs(nxt.var().item() - var) < 0.01 * var + 1e-4


def test_bernoulli_final_probability_returns_the_predicted_probability():
    proc = BernoulliDiffusion(final="probability")
    state = FieldState(torch.zeros(3, 1), torch.full((3,), 0.9))
    logit = torch.tensor([[-2.0], [0.0], [3.0]])
    out = proc.final_step(state, logit, "logits")
    assert torch.allclose(out, torch.sigmoid(logit))
    with pytest.raises(ValueError, match="final"):
        BernoulliDiffusion(final="mode")


def _dual(channels=(8, 16)):
    torch.manual_seed(0)
    return DualNoiseUNet(fields={"gauss": "gaussian", "bern": "bernoulli"}, channels=channels, time_dim=16)


def test_dual_denoiser_reads_both_chains():
    net = _dual().eval()
    b, h, w = 2, 16, 24
    g = torch.Generator().manual_seed(3)
    img = torch.randn(b, 1, h, w, generator=g)
    t = torch.full((b,), 0.5)
    xg = torch.randn(b, 1, h, w, generator=g)
    xb = (torch.rand(b, 1, h, w, generator=g) > 0.5).float()
    base = net({"gauss": FieldState(xg, t), "bern": FieldState(xb, t)}, img)
    assert set(base) == {"gauss", "bern", COHERENCE}
    moved_g = net({"gauss": FieldState(xg + 1.0, t), "bern": FieldState(xb, t)}, img)
    moved_b = net({"gauss": FieldState(xg, t), "bern": FieldState(1 - xb, t)}, img)
    for k in ("gauss", "bern"):  # each chain's state changes both chains' predictions
        assert (moved_g[k] - base[k]).abs().max() > 1e-4
        assert (moved_b[k] - base[k]).abs().max() > 1e-4
    assert base["gauss"].abs().max() <= 1  # tanh x1 head


def test_image_reaches_every_scale_and_encoded_condition_is_the_same():
    net = _dual().eval()
    img = torch.randn(1, 1, 16, 24)
    t = torch.full((1,), 0.2)
    st = {"gauss": FieldState(torch.zeros(1, 1, 16, 24), t), "bern": FieldState(torch.zeros(1, 1, 16, 24), t)}
    a = net(st, img)
    b = net(st, net.encode(img))
    for k in a:
        assert torch.allclose(a[k], b[k], atol=1e-6)
    # the image features enter at every encoder and decoder scale: each scale's fusion gate gets a gradient
    img.requires_grad_(True)
    out = net(st, img)
    out["bern"].sum().backward()
    for fuse in net.fuse:
        assert fuse.value.weight.grad is not None and fuse.value.weight.grad.abs().sum() > 0


class OracleDenoiser(torch.nn.Module):
    """Knows the true mask: predicts it exactly for both chains (x1 = 2y - 1; logits +-8)."""

    def __init__(self, truth: torch.Tensor, fields):
        super().__init__()
        self.truth = truth
        self.prediction_kinds = {k: ("x1" if v == "gaussian" else "logits") for k, v in fields.items()}
        self.fields = fields
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, state, condition=None, drop_condition=None):
        b = next(iter(state.values())).value.shape[0]
        y = self.truth.expand(b, *self.truth.shape[1:])
        return {k: (2 * y - 1 if v == "gaussian" else 16 * y - 8) for k, v in self.fields.items()}


def _model(fields, denoiser=None, steps=10):
    procs = {}
    for k, v in fields.items():
        procs[k] = (GaussianProcess(VPCosine(), loss_kind="x1") if v == "gaussian"
                    else BernoulliDiffusion(CosineKeep(), final="probability"))
    den = denoiser if denoiser is not None else DualNoiseUNet(fields=fields, channels=(8, 16), time_dim=16)
    return SegmentationModel(process=JointProcess(procs), denoiser=den, sampler=Ancestral(steps=steps),
                             image_size=(16, 24))


@pytest.mark.parametrize("fields", [{"gauss": "gaussian", "bern": "bernoulli"}, {"gauss": "gaussian"},
                                    {"bern": "bernoulli"}])
@pytest.mark.parametrize("steps", [1, 5, 20])
def test_few_step_sampling_with_an_oracle_recovers_the_mask(fields, steps):
    truth = torch.zeros(1, 1, 16, 24)
    truth[..., 4:12, 6:18] = 1
    model = _model(fields, OracleDenoiser(truth, fields))
    seg = model.segment(torch.randn(2, 1, 16, 24), steps=steps, ensemble=3, generator=torch.Generator().manual_seed(0))
    assert seg.members.shape == (2, 3, 16, 24) and seg.nfe == steps
    assert ((seg.members >= 0.5) == truth[0, 0].bool()).all()
    # the fusion is the mean of the chains' probabilities
    assert torch.allclose(seg.members, torch.stack(list(seg.chains.values())).mean(0))


def test_dual_model_output_depends_on_each_chain():
    """Sampling the dual model with one chain's final value replaced changes the fused output: both chains count."""
    torch.manual_seed(0)
    model = _model({"gauss": "gaussian", "bern": "bernoulli"}, steps=3)
    seg = model.segment(torch.randn(1, 1, 16, 24), generator=torch.Generator().manual_seed(0))
    g, b = seg.chains["gauss"], seg.chains["bern"]
    assert not torch.allclose(g, b)
    assert torch.allclose(seg.members, (g + b) / 2)


def test_coherence_and_dice_losses_on_hand_cases():
    y = torch.zeros(1, 1, 8, 8)
    y[..., 2:6, 2:6] = 1
    assert coherence_loss(y, y).item() == 0.0
    assert soft_dice_loss(y, y, eps=0.0).item() == pytest.approx(0.0, abs=1e-6)
    speckle = y.clone()
    speckle[..., 0, 0] = 1  # an isolated pixel: two spurious edges among 2 * 8 * 7 neighbour pairs
    assert coherence_loss(speckle, y).item() == pytest.approx(0.5 * (1 / 56 + 1 / 56))
    flat = torch.full_like(y, 0.5)  # no edges where the truth has 16 + 16 of them
    assert coherence_loss(flat, y).item() > 0


def test_objective_adds_calibration_and_coherence_terms():
    fields = {"gauss": "gaussian", "bern": "bernoulli"}
    model = _model(fields)
    y = torch.zeros(2, 1, 16, 24)
    y[..., 3:10, 5:15] = 1
    data = {"gauss": 2 * y - 1, "bern": y}
    corrupted = model.process.corrupt(data, generator=torch.Generator().manual_seed(0))
    preds = {"gauss": 2 * y - 1, "bern": 16 * y - 8, COHERENCE: 16 * y - 8}
    kinds = model.denoiser.prediction_kinds
    perfect = DualNoiseObjective()(model.process, preds, kinds, corrupted)
    assert perfect.per_field["coherence"].item() == pytest.approx(0.0, abs=1e-6)
    assert perfect.per_field["calibration"].item() < 0.01
    worse = dict(preds, **{COHERENCE: torch.zeros_like(y)})
    out = DualNoiseObjective()(model.process, worse, kinds, corrupted)
    assert out.loss > perfect.loss and out.per_field["calibration"] > 0.5
    off = DualNoiseObjective(calibration_weight=0.0, coherence_weight=0.0)(model.process, worse, kinds, corrupted)
    assert off.loss.item() == pytest.approx(out.per_field["gauss"].item() + out.per_field["bern"].item(), rel=1e-5)


def test_bundle_round_trip(tmp_path):
    model = _model({"gauss": "gaussian", "bern": "bernoulli"})
    path = model.save(tmp_path / "m.safetensors")
    from morphogen.bundle import load

    back = load(path)
    assert isinstance(back, SegmentationModel) and back.image_size == (16, 24) and back.chains == model.chains
    x = torch.randn(1, 1, 16, 24)
    a = model.segment(x, generator=torch.Generator().manual_seed(0)).members
    b = back.segment(x, generator=torch.Generator().manual_seed(0)).members
    assert torch.allclose(a, b)
