"""Feedforward TTFS networks of LIF neurons with Dale's law, built on :func:`spike_times`.

A :class:`Network` holds one weight matrix per layer (``weights[l]`` of shape (n_pre, n_post)) and a
:class:`~synsem_ephys.spec.NetworkSpec`. Its forward pass returns *every* layer's first-spike times
(the recording), not only the output. Dale's law acts on presynaptic units: rows of an excitatory
population are kept >= 0, rows of an inhibitory population <= 0 (:meth:`Network.enforce_dale_`,
to be called after every optimiser step; the trainer does). Input rows are unconstrained.

Initialisation: ``W ~ N(mean, std)`` per layer, in units of ``threshold / (K_peak * n_pre)`` where
``K_peak`` is the kernel's maximum, so that ``mean = 1`` means "all inputs at once, summed at their
peaks, just reach threshold". Under Dale's law the magnitudes are ``|N(mean, std)|`` with the sign of
the presynaptic population and inhibitory rows multiplied by ``inh_scale``.
"""

import json
import os

import numpy as np
import torch
from torch import nn

from ..decision import predict
from ..errors import SpecError
from ..spec import NetworkSpec
from .kernels import Kernel
from .ttfs import spike_times

__all__ = ["Network", "DEFAULT_INIT"]

#: (mean, std) per layer in units of threshold / (K_peak * n_pre); the last entry repeats. Hidden layers
#: start at mean 3: with 300 E + 100 I rows of equal magnitude, mean 1.2 leaves layers 2-4 silent.
DEFAULT_INIT = ((1.2, 1.0), (3.0, 1.0))
_FORMAT = "synsem_ephys.network/1"


class Network(nn.Module):
    """Feedforward network of LIF neurons with exact first-spike times.

    Parameters
    ----------
    spec : NetworkSpec
        Architecture and neuron parameters.
    seed : int
        Seed of the weight initialisation.
    dtype : torch.dtype
        float64 (default, exact) or float32.
    device : str or torch.device, optional
    weight_init : sequence of (mean, std), optional
        Per layer, in units of ``threshold / (K_peak * n_pre)``; the last entry repeats.
    inh_scale : float
        Extra factor on the magnitude of inhibitory rows at initialisation.
    group_size, chunk_size : int, optional
        Passed to :func:`spike_times` (speed / memory only).
    """

    def __init__(self, spec, *, seed=0, dtype=torch.float64, device=None, weight_init=None, inh_scale=1.0,
                 group_size=None, chunk_size=None):
        super().__init__()
        if not isinstance(spec, NetworkSpec):
            raise SpecError(f"spec: expected a NetworkSpec; got {type(spec).__name__}.")
        if dtype not in (torch.float32, torch.float64):
            raise SpecError(f"dtype: expected torch.float32 or torch.float64; got {dtype}.")
        self.spec = spec
        self.kernel = Kernel(spec.tau_syn_ms, spec.tau_mem_ms, spec.threshold)
        self.group_size, self.chunk_size = group_size, chunk_size
        init = tuple(weight_init) if weight_init is not None else DEFAULT_INIT
        if not init or any(len(p) != 2 for p in init):
            raise SpecError(f"weight_init: expected a non-empty sequence of (mean, std) pairs; got {weight_init!r}.")
        g = torch.Generator().manual_seed(int(seed))
        kpeak = float(self.kernel.K(torch.tensor(self.kernel.peak_time_ms, dtype=torch.float64)))
        sizes = spec.layer_sizes
        weights = []
        for l in range(spec.n_layers):
            mean, std = init[min(l, len(init) - 1)]
            unit = spec.threshold / (kpeak * sizes[l])
            w = (torch.randn(sizes[l], sizes[l + 1], generator=g, dtype=torch.float64) * std + mean) * unit
            signs = torch.tensor(spec.presyn_signs(l), dtype=torch.float64)
            if spec.dale and l > 0:
                w = w.abs() * signs[:, None] * torch.where(signs < 0, inh_scale, 1.0)[:, None]
            weights.append(nn.Parameter(w.to(dtype=dtype, device=device)))
        self.weights = nn.ParameterList(weights)
        for l in range(spec.n_layers):
            self.register_buffer(f"_sign{l}", torch.tensor(spec.presyn_signs(l), dtype=torch.int8, device=device),
                                 persistent=False)

    # ------------------------------------------------------------------ simulation
    def sign(self, layer):
        """Presynaptic sign constraint of weight matrix ``layer`` (+1 E, -1 I, 0 free), int8 (n_pre,)."""
        return getattr(self, f"_sign{layer}")

    def forward(self, input_times_ms):
        """First-spike times of every layer.

        Parameters
        ----------
        input_times_ms : torch.Tensor, shape (batch, n_inputs)
            Input spike times in ms (+inf = no spike).

        Returns
        -------
        list of torch.Tensor
            One (batch, n_units) tensor per hidden layer and the output layer (output last).
        """
        W0 = self.weights[0]
        t = torch.as_tensor(input_times_ms, dtype=W0.dtype, device=W0.device)
        if t.dim() != 2 or t.shape[1] != self.spec.n_inputs:
            raise ValueError(
                f"input_times_ms: expected shape (batch, {self.spec.n_inputs}); got {tuple(t.shape)}."
            )
        out = []
        for W in self.weights:
            t = spike_times(t, W, tau_syn_ms=self.spec.tau_syn_ms, tau_mem_ms=self.spec.tau_mem_ms,
                            threshold=self.spec.threshold, group_size=self.group_size, chunk_size=self.chunk_size)
            out.append(t)
        return out

    @torch.no_grad()
    def enforce_dale_(self):
        """Clamp every constrained row to its sign (in place). Returns self."""
        for l, W in enumerate(self.weights):
            s = self.sign(l)
            if bool((s != 0).any()):
                exc = (s > 0)[:, None]
                inh = (s < 0)[:, None]
                W.copy_(torch.where(exc, W.clamp(min=0.0), torch.where(inh, W.clamp(max=0.0), W)))
        return self

    def dale_violations(self):
        """Number of weights whose sign breaks Dale's law (0 when it holds)."""
        n = 0
        for l, W in enumerate(self.weights):
            s = self.sign(l)[:, None]
            n += int(((s > 0) & (W < 0)).sum() + ((s < 0) & (W > 0)).sum())
        return n

    @torch.no_grad()
    def predict(self, input_times_ms):
        """Predicted class per sample (:func:`synsem_ephys.decision.predict`: earliest output spike, -1 if none)."""
        return predict(self(input_times_ms)[-1])

    def weights_numpy(self):
        """``(weights, signs)`` as numpy: float64 copies ``(n_pre, n_post)`` and int64 presynaptic signs per matrix.

        What the torch-free layers (graph, report, analysis) take: ``write_report(rec, out, weights=w, signs=s)``.
        """
        ws = [W.detach().cpu().numpy().astype(np.float64) for W in self.weights]
        return ws, [self.sign(l).cpu().numpy().astype(np.int64) for l in range(len(self.weights))]

    @torch.no_grad()
    def record(self, input_times_ms, *, labels=None, trial_duration_ms=None, meta=None, batch_size=1000):
        """Simulate and return a :class:`~synsem_ephys.record.SpikeRecord` (numpy; leaves torch here).

        Input units are part of the record (layer 0). Predictions are the earliest output spike.
        """
        from ..record import SpikeRecord
        from .. import __version__

        t_in = torch.as_tensor(input_times_ms, dtype=self.weights[0].dtype, device=self.weights[0].device)
        layers = [[] for _ in range(self.spec.n_layers + 1)]
        for i in range(0, t_in.shape[0], batch_size):
            x = t_in[i : i + batch_size]
            layers[0].append(x.cpu().numpy())
            for k, t in enumerate(self(x), start=1):
                layers[k].append(t.cpu().numpy())
        mats = [np.concatenate(m, axis=0) for m in layers]
        pred = predict(mats[-1])
        info = {"spec": self.spec.to_json(), "package_version": __version__, "source": "synsem_ephys.sim"}
        info.update(meta or {})
        return SpikeRecord.from_layer_times(mats, self.spec.populations(), labels=labels, predictions=pred,
                                            trial_duration_ms=trial_duration_ms, meta=info)

    # ------------------------------------------------------------------ membrane traces
    @torch.no_grad()
    def membrane_trace(self, input_times_ms, layer, units, times_ms):
        """Membrane potential V(t) of chosen units of one layer on a time grid.

        V(t) is the sum of kernels of the layer's input spikes before ``t`` (the neuron model has
        no reset: it fires once, so V after its spike is what it would be without firing).

        Parameters
        ----------
        input_times_ms : tensor (batch, n_inputs)
            Network input.
        layer : int
            1 = first hidden layer, ..., ``spec.n_layers`` = output layer.
        units : sequence of int
            Unit indices inside the layer.
        times_ms : array-like (n_times,)

        Returns
        -------
        numpy.ndarray, shape (batch, len(units), n_times)
        """
        if not 1 <= int(layer) <= self.spec.n_layers:
            raise ValueError(f"layer: expected 1..{self.spec.n_layers}; got {layer}.")
        pre = torch.as_tensor(input_times_ms, dtype=self.weights[0].dtype)
        if layer > 1:
            pre = self(pre)[layer - 2]
        W = self.weights[layer - 1][:, list(units)]
        tg = torch.as_tensor(np.asarray(times_ms, dtype=float), dtype=W.dtype)
        s = tg[None, None, :] - pre[:, :, None]  # (batch, n_pre, n_times)
        k = self.kernel.K(torch.where(torch.isfinite(s), s, torch.zeros_like(s)))
        return torch.einsum("bit,iu->but", k, W).cpu().numpy()

    # ------------------------------------------------------------------ weights on disk
    def state(self):
        """Plain dict of the network: format tag, spec JSON and weights as CPU tensors."""
        return {"format": _FORMAT, "spec": self.spec.to_json(),
                "weights": [W.detach().cpu().clone() for W in self.weights]}

    def save(self, path, extra=None):
        """Write spec and weights to ``path`` atomically (torch.save of tensors and strings only).

        ``extra``: a JSON-able dict stored beside them (training config, accuracy...). The file also holds
        the SHA-256 of all of it (``"sha256"``, :func:`synsem_ephys._files.payload_sha256`), which
        :meth:`load` checks. Missing directories are created.

        Raises
        ------
        DiskFullError
            The file system is full (checked before writing from the weights' size, and while writing);
            the previous file at ``path`` is intact and no temporary file is left.
        WriteError
            ``path`` cannot be written (permission denied, read-only, a directory).
        """
        from .._files import payload_sha256, write_atomic
        from ..errors import WriteError, input_error

        obj = self.state()
        obj["extra"] = json.dumps(extra or {})
        obj["sha256"] = payload_sha256(obj)
        path = os.fspath(path)
        try:
            os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
        except OSError as exc:
            raise input_error("path", "a file in a directory that exists or can be created",
                              f"{path!r} ({exc.strerror or exc})", cls=WriteError) from exc
        size = sum(w.numel() * w.element_size() for w in obj["weights"]) + len(obj["spec"]) + len(obj["extra"])
        write_atomic(path, lambda fh: torch.save(obj, fh), size_hint=size)

    @classmethod
    def load(cls, path, *, dtype=torch.float64, device=None, **kwargs):
        """Load a network written by :meth:`save`. Returns the network; ``net.extra`` holds the extra dict.

        A file written with a checksum (``"sha256"``, every file :meth:`save` writes now) is checked against
        it: one flipped bit anywhere in the weights, spec or extra is a DataFormatError ("checksum mismatch:
        the file is corrupted"). Files written before checksums were stored, such as the shipped
        ``synsem_ephys/data/*.pt``, have none and load unchecked (their layout is still checked).

        Raises
        ------
        DataMissingError
            ``path`` does not exist.
        DataFormatError
            ``path`` is not a readable network file of this package, or it is corrupted; the message names it.
        """
        from .._files import payload_sha256
        from ..errors import DataFormatError, DataMissingError

        path = os.fspath(path)
        if not os.path.exists(path):
            raise DataMissingError(f"path: expected an existing network file; got {path!r} (not found).")
        if os.path.isdir(path):
            raise DataFormatError(f"path: expected a network file written by Network.save; got {path!r}, a directory.")

        def bad(what):
            return DataFormatError(f"path: expected a synsem_ephys network file; {path!r} {what}.")

        try:
            obj = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # torch raises several types for a corrupt file
            raise bad(f"could not be read ({type(exc).__name__}: {' '.join(str(exc).split())[:300]})") from exc
        if not isinstance(obj, dict) or obj.get("format") != _FORMAT:
            raise DataFormatError(f"path: expected a file with format {_FORMAT!r}; got {path!r} with another layout.")
        keys = set(obj)
        if keys not in ({"format", "spec", "weights"}, {"format", "spec", "weights", "extra"},
                        {"format", "spec", "weights", "extra", "sha256"}):
            raise bad(f"holds the entries {sorted(map(str, keys))} instead of format, spec, weights, extra, sha256 "
                      "(the file is corrupted)")
        if "sha256" in obj:
            try:
                ok = payload_sha256({k: v for k, v in obj.items() if k != "sha256"}) == obj["sha256"]
            except TypeError:
                ok = False
            if not ok:
                raise DataFormatError(f"{path}: checksum mismatch: the file is corrupted (the SHA-256 of its contents "
                                      "differs from the one stored when it was written). Restore it from a copy, "
                                      "or write it again.")
        try:
            spec = NetworkSpec.from_json(obj["spec"])
            extra = json.loads(obj.get("extra", "{}"))
        except (TypeError, ValueError) as exc:  # SpecError and JSONDecodeError are ValueErrors
            raise bad(f"holds an unreadable spec or extra ({type(exc).__name__}: {exc})") from exc
        if not isinstance(extra, dict):
            raise bad(f"holds an extra that is not a JSON object ({type(extra).__name__})")
        weights = obj["weights"]
        if not (isinstance(weights, (list, tuple)) and all(isinstance(w, torch.Tensor) for w in weights)):
            raise bad("holds weights that are not a list of tensors")
        if not all(bool(torch.isfinite(w).all()) for w in weights):
            raise bad("holds non-finite weights (the file is corrupted)")
        net = cls(spec, dtype=dtype, device=device, **kwargs)
        if len(weights) != spec.n_layers:
            raise DataFormatError(f"path: expected {spec.n_layers} weight matrices; got {len(weights)}.")
        with torch.no_grad():
            for W, w in zip(net.weights, weights):
                if tuple(W.shape) != tuple(w.shape):
                    raise DataFormatError(f"path: weight shape {tuple(w.shape)} does not match the spec's {tuple(W.shape)}.")
                W.copy_(w.to(dtype=W.dtype))
        net.extra = extra
        return net

    @classmethod
    def from_weights(cls, spec, weights, *, dtype=torch.float64, device=None):
        """Build a network for ``spec`` with given weight matrices (e.g. those of another tool).

        Parameters
        ----------
        spec : NetworkSpec
            Architecture and neuron parameters; ``spec.layer_sizes`` fixes the expected shapes.
        weights : sequence of array-like
            ``spec.n_layers`` matrices (numpy arrays or torch tensors), ``weights[l]`` of shape
            ``(layer_sizes[l], layer_sizes[l + 1])`` (n_in x n_out, presynaptic units as rows).
        dtype : torch.dtype
            float64 (default) or float32.
        device : str or torch.device, optional

        Returns
        -------
        Network
            The weights are copied (the caller's arrays are not shared).

        Raises
        ------
        SpecError
            ``spec`` is not a NetworkSpec; ``weights`` has the wrong number of matrices, a matrix has the
            wrong shape or non-finite entries; or ``spec.dale`` and a row breaks its population's sign
            (excitatory rows must be >= 0, inhibitory rows <= 0; the message counts the violating entries).
        """
        from ..errors import input_error

        if not isinstance(spec, NetworkSpec):
            raise input_error("spec", "a NetworkSpec", type(spec).__name__, cls=SpecError)
        if isinstance(weights, (str, bytes)) or not hasattr(weights, "__len__"):
            raise input_error("weights", f"a sequence of {spec.n_layers} weight matrices", type(weights).__name__,
                              cls=SpecError)
        if len(weights) != spec.n_layers:
            raise input_error("weights", f"{spec.n_layers} weight matrices (one per hidden layer and the output)",
                              f"{len(weights)} matrices", cls=SpecError)
        sizes = spec.layer_sizes
        mats, bad = [], []
        for l, w in enumerate(weights):
            try:
                m = (w.detach().cpu() if isinstance(w, torch.Tensor) else torch.as_tensor(np.asarray(w, dtype=np.float64)))
                m = m.to(torch.float64)
            except (TypeError, ValueError) as exc:
                raise input_error(f"weights[{l}]", "a numeric matrix (numpy array or torch tensor)",
                                  f"{type(w).__name__} ({exc})", cls=SpecError) from None
            want = (sizes[l], sizes[l + 1])
            if tuple(m.shape) != want:
                raise input_error(f"weights[{l}]", f"shape {want} (n_in x n_out for layer sizes {sizes})",
                                  f"shape {tuple(m.shape)}", "Transpose matrices stored as n_out x n_in.",
                                  cls=SpecError)
            if not bool(torch.isfinite(m).all()):
                raise input_error(f"weights[{l}]", "finite values", f"{int((~torch.isfinite(m)).sum())} NaN/inf entries",
                                  cls=SpecError)
            if spec.dale:
                s = torch.tensor(spec.presyn_signs(l), dtype=torch.int8)[:, None]
                n_exc = int(((s > 0) & (m < 0)).sum())
                n_inh = int(((s < 0) & (m > 0)).sum())
                if n_exc or n_inh:
                    bad.append((n_exc + n_inh, (f"weights[{l}]: {n_exc} negative entries in excitatory rows, "
                                                f"{n_inh} positive entries in inhibitory rows")))
            mats.append(m)
        if bad:
            raise input_error("weights", f"signs obeying Dale's law for spec.hidden={spec.hidden} "
                              "(excitatory rows >= 0, inhibitory rows <= 0)",
                              f"{sum(n for n, _ in bad)} violating entries ({'; '.join(t for _, t in bad)})",
                              "Check the E/I split (n_exc first) or pass a spec with dale=False.", cls=SpecError)
        net = cls(spec, dtype=dtype, device=device)
        with torch.no_grad():
            for W, m in zip(net.weights, mats):
                W.copy_(m.to(dtype=W.dtype, device=W.device))
        return net

    @torch.no_grad()
    def calibrate_(self, input_times_ms, *, target=(0.5, 0.9), layers=None, max_iter=40):
        """Scale each layer's weights so that a fraction of its units in ``target`` fires on the inputs.

        Layers are calibrated in order (each sees the already-calibrated earlier layers). Returns the
        list of fractions reached. Used by benchmarks and as an initialisation aid.
        """
        lo_t, hi_t = target
        t = torch.as_tensor(input_times_ms, dtype=self.weights[0].dtype)
        fractions = []
        for l, W in enumerate(self.weights):
            if layers is not None and l not in layers:
                t = self._layer(t, W)
                continue
            base = W.detach().clone()
            lo, hi = 0.0, None
            scale = 1.0
            for _ in range(max_iter):
                W.copy_(base * scale)
                frac = float(torch.isfinite(self._layer(t, W)).float().mean())
                if frac < lo_t:
                    lo = scale
                    scale = scale * 2.0 if hi is None else 0.5 * (scale + hi)
                elif frac > hi_t:
                    hi = scale
                    scale = 0.5 * (lo + scale)
                else:
                    break
            fractions.append(frac)
            t = self._layer(t, W)
        return fractions

    def _layer(self, t, W):
        return spike_times(t, W, tau_syn_ms=self.spec.tau_syn_ms, tau_mem_ms=self.spec.tau_mem_ms,
                           threshold=self.spec.threshold, group_size=self.group_size, chunk_size=self.chunk_size)
