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

Delays (``spec.delays``, per weight matrix ``"none" | "axonal" | "dendritic" | "synaptic"``): each matrix
with delays holds a parameter ``theta`` of shape ``(n_pre, 1)``, ``(1, n_post)`` or ``(n_pre, n_post)`` and
its delays are ``d = d_max * sigmoid(theta)`` (``d_max = spec.delay_max_ms[l]``), so ``0 <= d <= d_max``
whatever the optimiser does; the forward passes them to :func:`spike_times` (exact forward and gradients
w.r.t. ``theta``). Initialisation (``delay_init``): ``"normal"`` ``theta ~ N(0, 0.25^2)`` (d about d_max / 2,
DelGrad's default), ``"uniform"`` ``d ~ U(0, d_max)``, ``"half"`` ``d = d_max / 2``; drawn from a stream of its
own (seeded by ``seed``), so the weights equal those of the same spec without delays. A network without delays
runs exactly the code it ran before delays existed (bit-identical outputs).

Rounded delays (evaluation on a time grid, as Mészáros et al. 2024 evaluate with integer delay taps): with
``net.round_delays_ms = q`` (or inside ``with net.rounded_delays(q):``) every delay is the nearest point of the
grid ``k q`` within ``[0, d_max]``, ``d_q = min(round(d / q), floor(d_max / q)) q`` (``torch.round``: halves to
even), in the forward, :meth:`delays_numpy`, :meth:`membrane_trace` and :meth:`record` (whose meta then says
``round_delays_ms``); the parameters ``theta`` are not changed and the rounded delays carry no gradient.
None (default) = the continuous delays.
"""

import contextlib
import json
import math
import os

import numpy as np
import torch
from torch import nn

from ..decision import predict
from ..errors import SpecError, input_error
from ..spec import NetworkSpec
from .kernels import Kernel
from .ttfs import spike_times

__all__ = ["Network", "DEFAULT_INIT", "DELAY_INITS"]

#: (mean, std) per layer in units of threshold / (K_peak * n_pre); the last entry repeats. Hidden layers
#: start at mean 3: with 300 E + 100 I rows of equal magnitude, mean 1.2 leaves layers 2-4 silent.
DEFAULT_INIT = ((1.2, 1.0), (3.0, 1.0))
_FORMAT = "synsem_ephys.network/1"
#: values of ``Network(..., delay_init=)`` (see the module docstring)
DELAY_INITS = ("normal", "uniform", "half")
_DELAY_THETA_STD = 0.25


def _delay_seed(seed):
    # a stream of its own: the weights of a network with delays equal those of the same spec without
    return int(np.random.SeedSequence([int(seed), 0xDE1A]).generate_state(1, np.uint64)[0] >> 1)


def _delay_shape(kind, n_pre, n_post):
    return {"axonal": (n_pre, 1), "dendritic": (1, n_post), "synaptic": (n_pre, n_post)}[kind]


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
    delay_init : {"normal", "uniform", "half"}
        Initial delays of the matrices with delays (see the module docstring); unused without delays.
    """

    def __init__(self, spec, *, seed=0, dtype=torch.float64, device=None, weight_init=None, inh_scale=1.0,
                 group_size=None, chunk_size=None, delay_init="normal"):
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
        self.delay_theta = nn.ParameterDict()  # str(layer) -> theta, only the matrices with delays
        if spec.has_delays:
            if delay_init not in DELAY_INITS:
                raise SpecError(f"delay_init: expected one of {list(DELAY_INITS)}; got {delay_init!r}.")
            gd = torch.Generator().manual_seed(_delay_seed(seed))
            for l in range(spec.n_layers):
                kind = spec.delay_kind(l)
                if kind == "none":
                    continue
                shape = _delay_shape(kind, sizes[l], sizes[l + 1])
                if delay_init == "normal":
                    theta = torch.randn(shape, generator=gd, dtype=torch.float64) * _DELAY_THETA_STD
                elif delay_init == "uniform":
                    u = torch.rand(shape, generator=gd, dtype=torch.float64).clamp(1e-6, 1 - 1e-6)
                    theta = torch.log(u) - torch.log1p(-u)
                else:
                    theta = torch.zeros(shape, dtype=torch.float64)
                self.delay_theta[str(l)] = nn.Parameter(theta.to(dtype=dtype, device=device))
        self.round_delays_ms = None  # evaluation on a time grid (module docstring); None = continuous delays
        for l in range(spec.n_layers):
            self.register_buffer(f"_sign{l}", torch.tensor(spec.presyn_signs(l), dtype=torch.int8, device=device),
                                 persistent=False)

    # ------------------------------------------------------------------ simulation
    def sign(self, layer):
        """Presynaptic sign constraint of weight matrix ``layer`` (+1 E, -1 I, 0 free), int8 (n_pre,)."""
        return getattr(self, f"_sign{layer}")

    def delays_ms(self, layer):
        """Delays of weight matrix ``layer`` in ms, ``d_max * sigmoid(theta)`` (differentiable), shaped for
        :func:`spike_times`: ``(n_pre, 1)`` axonal, ``(1, n_post)`` dendritic, ``(n_pre, n_post)`` synaptic;
        None for a matrix without delays."""
        key = str(int(layer))
        if key not in self.delay_theta:
            return None
        d_max = self.spec.delay_max_ms[int(layer)]
        d = d_max * torch.sigmoid(self.delay_theta[key])
        q = self.round_delays_ms
        if q is None:
            return d
        top = math.floor(d_max / q * (1 + 1e-12))  # the last grid point within [0, d_max]
        return torch.clamp(torch.round(d.detach() / q), max=top) * q

    def __setattr__(self, name, value):
        if name == "round_delays_ms" and value is not None:
            ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool) \
                and math.isfinite(float(value)) and float(value) > 0
            if not ok:
                raise input_error("round_delays_ms", "None or a positive grid step in ms", repr(value), cls=SpecError)
            value = float(value)
        super().__setattr__(name, value)

    @contextlib.contextmanager
    def rounded_delays(self, round_delays_ms):
        """Context in which the delays are rounded to the grid ``round_delays_ms`` (ms; None = not rounded):
        ``with net.rounded_delays(1.0): acc = ...``. The previous setting comes back on leaving."""
        old = self.round_delays_ms
        self.round_delays_ms = round_delays_ms
        try:
            yield self
        finally:
            self.round_delays_ms = old

    @torch.no_grad()
    def set_delays_(self, layer, delays_ms):
        """Set the delays of matrix ``layer`` (ms, shape as :meth:`delays_ms`, in ``(0, d_max)``): ``theta =
        logit(d / d_max)``. Returns self."""
        key = str(int(layer))
        if key not in self.delay_theta:
            raise SpecError(f"layer: expected a weight matrix with delays (spec.delays = {self.spec.delays}); "
                            f"got {layer}.")
        theta = self.delay_theta[key]
        d = torch.as_tensor(delays_ms, dtype=torch.float64).reshape(theta.shape) / self.spec.delay_max_ms[int(layer)]
        if not bool(((d > 0) & (d < 1)).all()):
            raise SpecError(f"delays_ms: expected delays strictly between 0 and d_max = "
                            f"{self.spec.delay_max_ms[int(layer)]} ms (d = d_max * sigmoid(theta)); got "
                            f"[{float(d.min()) * self.spec.delay_max_ms[int(layer)]:g}, "
                            f"{float(d.max()) * self.spec.delay_max_ms[int(layer)]:g}] ms.")
        theta.copy_((torch.log(d) - torch.log1p(-d)).to(theta))
        return self

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
        for l, W in enumerate(self.weights):
            t = self._layer(t, W, l)
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
    def delays_numpy(self):
        """Delays per weight matrix as float64 ``(n_pre, n_post)`` numpy arrays (axonal and dendritic delays
        broadcast), None for a matrix without delays: what :mod:`synsem_ephys.analysis.ei_structure` takes."""
        out = []
        for l, W in enumerate(self.weights):
            d = self.delays_ms(l)
            out.append(None if d is None else np.broadcast_to(d.cpu().numpy().astype(np.float64), W.shape).copy())
        return out

    @torch.no_grad()
    def record(self, input_times_ms, *, labels=None, trial_duration_ms=None, meta=None, batch_size=1000,
               delays_in_meta=True):
        """Simulate and return a :class:`~synsem_ephys.record.SpikeRecord` (numpy; leaves torch here).

        Input units are part of the record (layer 0). Predictions are the earliest output spike. The record's meta
        holds the spec (``"spec"``, JSON) and, for a network with delays, its delays (``"delays_ms"``: per weight
        matrix None or the delays in ms as nested lists, shaped as :meth:`delays_ms` returns them, rounded when
        :attr:`round_delays_ms` is set, which ``"round_delays_ms"`` then says), so that files written from the record
        (Neo, NIX, NWB) carry them; :func:`synsem_ephys.analysis.ei_structure.record_delays` reads them back.

        ``delays_in_meta=False`` leaves ``"delays_ms"`` (and ``"round_delays_ms"``) out, and ``meta["delays_in_meta"]
        = False`` says so. The delays are JSON text in every file written from the record: about 20 bytes per delay
        (a synaptic matrix of 784 x 400 is 313,600 delays, about 6 MB; axonal / dendritic delays one per unit), so a
        large synaptic layer makes the file MBs larger. Without them the report needs the delays from the network
        (``analyze(..., delays=net.delays_numpy())``, the CLI's ``analyze --network``).
        """
        from ..record import SpikeRecord
        from .. import __version__

        t_in = torch.as_tensor(input_times_ms, dtype=self.weights[0].dtype, device=self.weights[0].device)
        sizes = self.spec.layer_sizes
        if t_in.ndim != 2 or t_in.shape[1] != sizes[0]:
            raise input_error("input_times_ms", f"an array of shape (n_trials, {sizes[0]}) (one row per trial)",
                              f"shape {tuple(t_in.shape)}")
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise input_error("batch_size", "an int >= 1", repr(batch_size))
        if not isinstance(delays_in_meta, bool):
            raise input_error("delays_in_meta", "True or False", repr(delays_in_meta))
        empty = torch.empty(0, dtype=t_in.dtype).numpy().dtype
        layers = [[np.zeros((0, n), dtype=empty)] for n in sizes]  # 0 trials give an empty record
        for i in range(0, t_in.shape[0], batch_size):
            x = t_in[i : i + batch_size]
            layers[0].append(x.cpu().numpy())
            for k, t in enumerate(self(x), start=1):
                layers[k].append(t.cpu().numpy())
        mats = [np.concatenate(m, axis=0) for m in layers]
        pred = predict(mats[-1])
        info = {"spec": self.spec.to_json(), "package_version": __version__, "source": "synsem_ephys.sim"}
        if len(self.delay_theta) and not delays_in_meta:
            info["delays_in_meta"] = False
        elif len(self.delay_theta):
            info["delays_ms"] = [None if d is None else d.detach().cpu().to(torch.float64).tolist()
                                 for d in (self.delays_ms(l) for l in range(self.spec.n_layers))]
            if self.round_delays_ms is not None:
                info["round_delays_ms"] = self.round_delays_ms
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
        d = self.delays_ms(layer - 1)
        if d is not None:  # arrivals t_i + d_iu, one set per unit
            D = d.to(W.dtype).expand(W.shape[0], self.spec.layer_sizes[layer])[:, list(units)]  # (n_pre, n_units)
            a = pre[:, :, None] + D[None]
            s = tg[None, None, None, :] - a[..., None]  # (batch, n_pre, n_units, n_times)
            k = self.kernel.K(torch.where(torch.isfinite(s), s, torch.zeros_like(s)))
            return torch.einsum("biut,iu->but", k, W).cpu().numpy()
        s = tg[None, None, :] - pre[:, :, None]  # (batch, n_pre, n_times)
        k = self.kernel.K(torch.where(torch.isfinite(s), s, torch.zeros_like(s)))
        return torch.einsum("bit,iu->but", k, W).cpu().numpy()

    # ------------------------------------------------------------------ weights on disk
    def state(self):
        """Plain dict of the network: format tag, spec JSON and weights as CPU tensors (and, with delays,
        ``"delay_theta"``: str(layer) -> theta; a network without delays has no such entry)."""
        obj = {"format": _FORMAT, "spec": self.spec.to_json(),
               "weights": [W.detach().cpu().clone() for W in self.weights]}
        if len(self.delay_theta):
            obj["delay_theta"] = {k: v.detach().cpu().clone() for k, v in self.delay_theta.items()}
        return obj

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
        size = sum(w.numel() * w.element_size() for w in [*obj["weights"], *obj.get("delay_theta", {}).values()]) \
            + len(obj["spec"]) + len(obj["extra"])
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
        keys = set(obj) - {"delay_theta"}  # delays: files of networks with delays only
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
        theta = obj.get("delay_theta", {})
        if not (isinstance(theta, dict) and all(isinstance(v, torch.Tensor) for v in theta.values())) \
                or set(theta) != set(net.delay_theta):
            raise bad(f"holds delays for the matrices {sorted(theta) if isinstance(theta, dict) else theta!r} while "
                      f"its spec has delays on {sorted(net.delay_theta)} (the file is corrupted)")
        with torch.no_grad():
            for k, v in theta.items():
                if tuple(v.shape) != tuple(net.delay_theta[k].shape) or not bool(torch.isfinite(v).all()):
                    raise bad(f"holds delays of matrix {k} of shape {tuple(v.shape)} (expected "
                              f"{tuple(net.delay_theta[k].shape)}, finite)")
                net.delay_theta[k].copy_(v.to(dtype=net.delay_theta[k].dtype))
        net.extra = extra
        return net

    @classmethod
    def from_weights(cls, spec, weights, *, dtype=torch.float64, device=None, delays_ms=None):
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
        delays_ms : sequence of array-like or None, optional
            With a spec with delays: per weight matrix None (keep the default initial delays; always for a
            matrix without delays) or its delays in ms, shaped as :meth:`delays_ms` returns them, strictly
            between 0 and the matrix's ``delay_max_ms``.

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
        if delays_ms is not None:
            if len(delays_ms) != spec.n_layers:
                raise input_error("delays_ms", f"{spec.n_layers} entries (None or delays, one per weight matrix)",
                                  f"{len(delays_ms)} entries", cls=SpecError)
            for l, d in enumerate(delays_ms):
                if d is not None:
                    net.set_delays_(l, d.detach().cpu() if isinstance(d, torch.Tensor) else np.asarray(d, np.float64))
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
                t = self._layer(t, W, l)
                continue
            base = W.detach().clone()
            lo, hi = 0.0, None
            scale = 1.0
            for _ in range(max_iter):
                W.copy_(base * scale)
                frac = float(torch.isfinite(self._layer(t, W, l)).float().mean())
                if frac < lo_t:
                    lo = scale
                    scale = scale * 2.0 if hi is None else 0.5 * (scale + hi)
                elif frac > hi_t:
                    hi = scale
                    scale = 0.5 * (lo + scale)
                else:
                    break
            fractions.append(frac)
            t = self._layer(t, W, l)
        return fractions

    def _layer(self, t, W, layer):
        d = self.delays_ms(layer)
        if d is None:  # exactly the call made before delays existed
            return spike_times(t, W, tau_syn_ms=self.spec.tau_syn_ms, tau_mem_ms=self.spec.tau_mem_ms,
                               threshold=self.spec.threshold, group_size=self.group_size, chunk_size=self.chunk_size)
        return spike_times(t, W, tau_syn_ms=self.spec.tau_syn_ms, tau_mem_ms=self.spec.tau_mem_ms,
                           threshold=self.spec.threshold, group_size=self.group_size, chunk_size=self.chunk_size,
                           delays_ms=d.to(W.dtype))
