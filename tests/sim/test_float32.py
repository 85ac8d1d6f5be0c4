"""float32 is exact in practice: spike times of calibrated 784-400-400-400-10 layers in float32 against float64.

Each layer's problem is the float64 network's input to that layer: float64 solves it as is, float32 with
inputs and weights rounded to float32 (so the two problems differ by that rounding, ~6e-8 relative).
Outside the grazing margin (a local maximum of V within ``F32_GRAZING_MARGIN`` of threshold, relative;
:func:`synsem_ephys.sim._margins.pair_margin`) there is no spike / no-spike disagreement and spike times
agree to 1e-3 ms on every backend; the fused kernel (float64 state) to 1e-4 ms.
"""

import numpy as np
import pytest
import torch

from synsem_ephys.encoding import LatencyCode
from synsem_ephys.sim import Network, spike_times
from synsem_ephys.sim._margins import pair_margin
from synsem_ephys.sim.ttfs import available_backends
from synsem_ephys.spec import NetworkSpec
from synsem_ephys.train.data import load_mnist_test_subset

#: relative distance of a local maximum of V to threshold below which float32 may decide either way
F32_GRAZING_MARGIN = 1e-5
TOL_MS = {"torch": 1e-3, "numba": 1e-4}
BACKENDS = [pytest.param(b, marks=pytest.mark.skipif(b not in available_backends(), reason=f"{b} not installed"))
            for b in ("torch", "numba")]


def _problems(ratio, n=32):
    """The per-layer (inputs, weights) of a calibrated 784-(300E+100I)x3-10 network on latency-coded MNIST."""
    spec = NetworkSpec(784, hidden=((300, 100),) * 3, n_outputs=10, tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)
    code = LatencyCode(5.0, zero_never_spikes=True)
    t_in = torch.tensor(code.encode(load_mnist_test_subset().x[:n]), dtype=torch.float64)
    net = Network(spec, seed=1)
    net.calibrate_(t_in, target=(0.5, 0.9))
    kw = dict(tau_syn_ms=spec.tau_syn_ms, tau_mem_ms=spec.tau_mem_ms, threshold=spec.threshold)
    probs, h = [], t_in
    with torch.no_grad():
        for W in net.weights:
            probs.append((h, W.detach()))
            h = spike_times(h, W, **kw)
    return probs, net.kernel, kw


@pytest.fixture(scope="module", params=[1.0, 2.0], ids=["tau_mem=tau_syn", "tau_mem=2tau_syn"])
def problems(request):
    return _problems(request.param)


@pytest.mark.parametrize("backend", BACKENDS)
def test_float32_matches_float64_outside_grazing(problems, backend):
    probs, kern, kw = problems
    fired = 0
    for x, W in probs:
        with torch.no_grad():
            a = spike_times(x, W, backend=backend, **kw)
            c = spike_times(x.float(), W.float(), backend=backend, **kw).double()
        fired += int(torch.isfinite(a).sum())
        both = torch.isfinite(a) & torch.isfinite(c)
        dt = torch.where(both, (a - c).abs(), torch.zeros_like(a))
        suspects = torch.nonzero((torch.isfinite(a) != torch.isfinite(c)) | (dt > TOL_MS[backend])).tolist()
        for i, j in suspects:  # every disagreement or large error must be a grazing case
            m = pair_margin(x[i].numpy(), W[:, j].numpy(), kern, float(a[i, j]))
            assert m < F32_GRAZING_MARGIN, (backend, i, j, float(a[i, j]), float(c[i, j]), m)
    assert fired > 0.4 * sum(x.shape[0] * W.shape[1] for x, W in probs)


def test_pair_margin_sees_grazing():
    """The margin is the distance of the nearest local maximum to threshold (a test that can fail)."""
    from synsem_ephys.sim import Kernel

    for ratio in (1.0, 2.0):
        kern = Kernel(5.0, 5.0 * ratio, 1.0)
        kpeak = float(kern.K(torch.tensor(kern.peak_time_ms, dtype=torch.float64)))
        for delta in (1e-3, -1e-6):
            w = np.array([(1.0 + delta) / kpeak])
            t_spike = float(spike_times(torch.tensor([[2.0]], dtype=torch.float64), torch.tensor(w).reshape(1, 1),
                                        tau_syn_ms=5.0, tau_mem_ms=5.0 * ratio)[0, 0])
            assert pair_margin(np.array([2.0]), w, kern, t_spike) == pytest.approx(abs(delta), rel=1e-6)
        # an inhibitory input cutting a rise short: a kink maximum at its arrival
        t, w = np.array([0.0, 3.0]), np.array([1.5 / kpeak, -20.0])
        v3 = 1.5 / kpeak * float(kern.K(torch.tensor(3.0, dtype=torch.float64)))
        assert pair_margin(t, w, kern) == pytest.approx(abs(v3 - 1.0), rel=1e-9)
