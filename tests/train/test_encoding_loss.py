"""Latency encoding, input noise, the TTFS loss, prediction and accuracy."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from synsem_ephys.encoding import jitter_times, latency_encode, shift_images
from synsem_ephys.train.loss import accuracy, predict, replace_no_spike, ttfs_loss

INF = math.inf


# ------------------------------------------------------------------------------ encoding
def test_encode_endpoints_and_linearity():
    t = latency_encode([1.0, 0.0, 0.5], tau_syn_ms=5.0)
    np.testing.assert_allclose(t, [0.15 * 5, 2.0 * 5, (0.15 + 0.5 * 1.85) * 5])
    t = latency_encode(np.array([[1.0, 0.0]]), tau_syn_ms=2.0, t_early=0.0, t_late=1.0)
    np.testing.assert_allclose(t, [[0.0, 2.0]])


def test_encode_zero_never_spikes():
    t = latency_encode([0.0, 1e-9, 1.0], tau_syn_ms=1.0, zero_never_spikes=True)
    assert t[0] == INF and np.isfinite(t[1:]).all()


def test_encode_torch_matches_numpy():
    x = np.random.default_rng(0).random((4, 7))
    x[0, 0] = 0.0
    for z in (False, True):
        tn = latency_encode(x, tau_syn_ms=3.0, zero_never_spikes=z)
        tt = latency_encode(torch.tensor(x, dtype=torch.float32), tau_syn_ms=3.0, zero_never_spikes=z)
        assert tt.dtype == torch.float32
        np.testing.assert_allclose(tt.numpy(), tn, rtol=1e-6)
    assert latency_encode(torch.tensor([1, 0]), tau_syn_ms=1.0).dtype == torch.float64


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=2, max_size=20),
       st.floats(0.1, 20), st.floats(0, 1), st.floats(0.1, 3))
def test_encode_monotone_and_bounded(xs, tau, t_early, span):
    x = np.sort(np.array(xs))
    t = latency_encode(x, tau_syn_ms=tau, t_early=t_early, t_late=t_early + span)
    assert np.all(np.diff(t) <= 1e-12)  # larger feature, earlier (or equal) spike
    assert np.all(t >= tau * t_early - 1e-9) and np.all(t <= tau * (t_early + span) + 1e-9)


@pytest.mark.parametrize("kwargs, match", [
    (dict(x=[1.2]), "x"), (dict(x=[-0.1]), "x"), (dict(x=[np.nan]), "NaN"),
    (dict(tau_syn_ms=0.0), "tau_syn_ms"), (dict(tau_syn_ms=True), "tau_syn_ms"),
    (dict(t_early=2.0, t_late=1.0), "t_late"), (dict(t_early=-1.0), "t_early"),
])
def test_encode_errors(kwargs, match):
    args = dict(x=[0.5], tau_syn_ms=1.0)
    args.update(kwargs)
    x = args.pop("x")
    with pytest.raises(ValueError, match=match):
        latency_encode(x, **args)
    with pytest.raises(ValueError, match=match):
        latency_encode(torch.tensor(x, dtype=torch.float64), **args)


def test_jitter():
    t = np.array([[1.0, INF, 0.01] * 1000])
    out = jitter_times(t, 0.5, np.random.default_rng(1))
    assert np.all(np.isinf(out[:, 1::3])) and out.min() >= 0
    assert abs(np.std(out[:, 0::3] - 1.0) - 0.5) < 0.05
    np.testing.assert_array_equal(out, jitter_times(t, 0.5, np.random.default_rng(1)))
    assert jitter_times(t, 0.0, None) is t
    tt = torch.tensor(t)
    g = torch.Generator().manual_seed(3)
    o1 = jitter_times(tt, 0.5, g)
    o2 = jitter_times(tt, 0.5, torch.Generator().manual_seed(3))
    assert torch.equal(o1, o2) and torch.isinf(o1[:, 1::3]).all() and o1.min() >= 0
    with pytest.raises(ValueError, match="generator"):
        jitter_times(tt, 0.5, np.random.default_rng(0))
    with pytest.raises(ValueError, match="std_ms"):
        jitter_times(t, -1.0, np.random.default_rng(0))


def _shift_reference(img, dy, dx, fill):
    """Loop version: out[r, c] = img[r - dy, c - dx] inside the image, fill outside."""
    h, w = img.shape
    out = np.full_like(img, fill)
    for r in range(h):
        for c in range(w):
            if 0 <= r - dy < h and 0 <= c - dx < w:
                out[r, c] = img[r - dy, c - dx]
    return out


def test_shift_images_matches_a_loop_and_the_encoding_of_shifted_pixels():
    rng = np.random.default_rng(0)
    x = rng.random((200, 5 * 7))
    x[x < 0.3] = 0.0
    enc = dict(tau_syn_ms=5.0, zero_never_spikes=True)
    t = torch.as_tensor(latency_encode(x, **enc))
    g = torch.Generator().manual_seed(4)
    state = g.get_state()
    out = shift_images(t, (5, 7), 2, g, INF)
    g2 = torch.Generator()
    g2.set_state(state)
    d = torch.randint(-2, 3, (200, 2), generator=g2).numpy()  # the shifts, drawn as documented
    assert set(map(tuple, d)) == {(a, b) for a in range(-2, 3) for b in range(-2, 3)}  # all 25 occur
    for i in range(200):
        shifted = _shift_reference(x[i].reshape(5, 7), d[i, 0], d[i, 1], 0.0).ravel()
        np.testing.assert_array_equal(out[i].numpy(), latency_encode(shifted, **enc))  # = encode(shift(x))
    assert torch.equal(shift_images(t, (5, 7), 0, g, INF), t)
    g3 = torch.Generator()
    g3.set_state(state)
    assert torch.equal(shift_images(t.float(), (5, 7), 2, g3, INF), out.float())  # same draws, any dtype


@pytest.mark.parametrize("args, match", [
    ((np.zeros((2, 35)), (5, 7), 1), "times_ms"),
    ((torch.zeros(2, 36), (5, 7), 1), "36"),
    ((torch.zeros(2, 35), (5, 7), 5), "max_shift"),
    ((torch.zeros(2, 35), (5, 7), -1), "max_shift"),
    ((torch.zeros(2, 35), (5,), 1), "image_shape"),
])
def test_shift_images_errors(args, match):
    with pytest.raises(ValueError, match=match):
        shift_images(*args, torch.Generator(), INF)
    with pytest.raises(ValueError, match="generator"):
        shift_images(torch.zeros(2, 35), (5, 7), 1, np.random.default_rng(0), INF)


# ------------------------------------------------------------------------------ loss
def test_loss_hand_computed():
    t = torch.tensor([[1.0, 2.0], [3.0, 1.0]], dtype=torch.float64)
    y = torch.tensor([0, 0])
    tau, xi, alpha, beta = 1.0, 0.5, 0.1, 2.0
    # closed form: -log softmax(-t / (xi tau))[label] + alpha exp(t_label / (beta tau))
    l0 = math.log(1 + math.exp(-2.0)) + 0.1 * math.exp(0.5)
    l1 = math.log(1 + math.exp(4.0)) + 0.1 * math.exp(1.5)
    per = ttfs_loss(t, y, tau, xi, alpha, beta, reduction="none")
    np.testing.assert_allclose(per.numpy(), [l0, l1], rtol=1e-12)
    assert math.isclose(float(ttfs_loss(t, y, tau, xi, alpha, beta)), (l0 + l1) / 2, rel_tol=1e-12)
    assert math.isclose(float(ttfs_loss(t, y, tau, xi, alpha, beta, reduction="sum")), l0 + l1, rel_tol=1e-12)


def test_loss_defaults_are_goeltz():
    t = torch.tensor([[5.0, 10.0, 15.0]], dtype=torch.float64)
    got = float(ttfs_loss(t, [0], 5.0))
    z = np.array([1.0, 2.0, 3.0]) / 0.2
    want = -(-z[0] - np.log(np.exp(-z).sum())) + 0.005 * math.exp(1.0)
    assert math.isclose(got, want, rel_tol=1e-12)


def test_loss_gradcheck():
    t = torch.tensor([[1.0, 2.5, 0.7], [3.0, 1.0, 2.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([2, 1])
    assert torch.autograd.gradcheck(lambda a: ttfs_loss(a, y, 2.0), (t,))


def test_loss_with_silent_outputs_is_finite_with_finite_gradient():
    t = torch.tensor([[INF, 2.0, 3.0], [INF, INF, INF], [1.0, INF, 2.0]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([0, 1, 0])
    loss = ttfs_loss(t, y, 1.0)
    loss.backward()
    assert torch.isfinite(loss) and torch.isfinite(t.grad).all()
    assert torch.all(t.grad[torch.isinf(t.detach())] == 0)
    # a silent correct neuron costs more than a late one, and a large finite amount
    silent = float(ttfs_loss(t.detach()[:1], y[:1], 1.0))
    late = float(ttfs_loss(torch.tensor([[9.0, 2.0, 3.0]], dtype=torch.float64), [0], 1.0))
    assert late < silent < 1e3 and silent > 0.005 * math.exp(10)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_loss_finite_for_extreme_times(dtype):
    t = torch.tensor([[1e4, 2.0, INF], [INF, INF, INF]], dtype=dtype, requires_grad=True)
    loss = ttfs_loss(t, [0, 2], 1.0)
    loss.backward()
    assert loss.dtype == dtype and torch.isfinite(loss) and torch.isfinite(t.grad).all()


def test_replace_no_spike_ranks_silence_last():
    t = torch.tensor([[INF, 30.0], [INF, 1.0]], dtype=torch.float64)
    r = replace_no_spike(t, 1.0)
    assert r[0, 0] == 31.0 and r[1, 0] == 10.0 and r[0, 1] == 30.0
    assert replace_no_spike(t, 1.0, t_no_spike_ms=50.0)[1, 0] == 50.0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(0, 20), min_size=3, max_size=3), st.integers(0, 2), st.floats(-5, 5))
def test_loss_properties(times, label, shift):
    t = torch.tensor([times], dtype=torch.float64)
    y = torch.tensor([label])
    # cross-entropy alone is invariant to shifting all output times together
    a = float(ttfs_loss(t, y, 1.0, alpha=0.0))
    b = float(ttfs_loss(t + shift, y, 1.0, alpha=0.0))
    assert math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
    # an earlier label spike never increases the loss
    t2 = t.clone()
    t2[0, label] = max(0.0, times[label] - 1.0)
    assert float(ttfs_loss(t2, y, 1.0)) <= float(ttfs_loss(t, y, 1.0)) + 1e-12


@pytest.mark.parametrize("kwargs, match", [
    (dict(labels=[3]), "labels"), (dict(labels=[0, 1]), "labels"), (dict(tau_syn_ms=-1.0), "tau_syn_ms"),
    (dict(xi=0.0), "xi"), (dict(alpha=-1.0), "alpha"), (dict(beta=0.0), "beta"),
    (dict(reduction="avg"), "reduction"), (dict(t_out_ms=torch.ones(3)), "t_out_ms"),
    (dict(t_out_ms=torch.tensor([[np.nan, 1.0, 2.0]])), "NaN"),
])
def test_loss_errors(kwargs, match):
    args = dict(t_out_ms=torch.ones(1, 3, dtype=torch.float64), labels=[0], tau_syn_ms=1.0)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        ttfs_loss(**args)


# ------------------------------------------------------------------------------ prediction
def test_predict_and_accuracy():
    t = np.array([[3.0, 1.0, 2.0], [INF, INF, INF], [1.0, 1.0, INF], [INF, 5.0, INF]])
    np.testing.assert_array_equal(predict(t), [1, -1, 0, 1])
    tt = torch.tensor(t)
    assert predict(tt).tolist() == [1, -1, 0, 1]
    labels = [1, 0, 0, 2]
    assert accuracy(t, labels) == 0.5 and accuracy(tt, torch.tensor(labels)) == 0.5
    # a silent sample is wrong even for the label predict's argmin would give
    assert accuracy(np.array([[INF, INF]]), [0]) == 0.0
