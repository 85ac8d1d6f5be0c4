"""Published fast-and-deep networks (Göltz et al. 2021, branch ``WeHaveToGoDeeper``) and their spike dumps.

The deep Dale's-law networks analysed by Kurth, Oberste-Frielinghaus et al. (2025) were trained with the
authors' code (GitHub JulianGoeltz/fastAndDeep, GPL-3.0). This module reads what one training run leaves in
its folder, without importing or containing any of that code:

========================================  =====================================================================
``config.yaml``                           training config: ``network_layout`` (sizes, biases), ``neuron_params``
                                          (``g_leak``, ``leak``, ``tau_syn``, ``threshold``), ``training_params``
                                          (``resolution``, ``sim_time`` ...)
``<dataset>_network.pt``                  the trained ``training.Net`` module, pickled whole by ``torch.save``
``<dataset>_test_spiketimes.npy``         (n_test, n_out) output first-spike times on the test set
``<dataset>_test_labels.npy``             (n_test,) the labels of those
``spiketimes_inputs_trained.npy``         (n, n_in) input spike times of ``n`` dumped samples
``spiketimes_hiddens_trained.npy``        (n_hidden_layers, n, n_units) hidden-layer spike times of them
``spiketimes_outputs_trained.npy``        (n, n_out) output spike times of them
========================================  =====================================================================

Conventions
-----------
Time. Every time in the files is in the authors' time unit, in which ``tau_syn`` of the config is given
(``tau_syn: 1.0`` in the published runs, so the unit is tau_syn). ``tau_syn_ms`` says how many ms the
config's ``tau_syn`` is: a stored value ``t`` becomes ``t * tau_syn_ms / tau_syn`` ms. ``+inf`` = no spike.

Neuron model. The authors' current-based LIF neuron with exponential synapses, unit membrane capacitance
and resting potential ``leak``: ``tau_mem = 1 / g_leak`` in the file's time unit. This simulator has two
closed-form cases (:mod:`synsem_ephys.spec`), so ``g_leak * tau_syn`` must be 1 (``tau_mem == tau_syn``) or
1/2 (``tau_mem == 2 tau_syn``); anything else is refused. The weights are kept exactly as stored and the
threshold is converted so that the same weights cross it at the same times: with unit capacitance a
weight ``w`` gives ``V(s) = w s exp(-s / tau)`` (equal time constants, ``s`` in file units) or
``V(s) = w (exp(-s/tau_mem) - exp(-s/tau_syn)) / (1/tau_syn - 1/tau_mem)``, so this simulator's threshold
is ``threshold / tau_syn`` or ``threshold * (1/tau_syn - 1/tau_mem)`` (``tau_syn`` in file units; 1.0 and
``threshold / 2`` for the published configs with ``tau_syn: 1``). Only the first case, with ``leak: 0``,
is checked against stored spike times (the published run); ``leak != 0`` is refused.

Networks with bias spikes (non-zero ``n_biases``) are refused: this simulator has no bias inputs.

Reading the network file. ``torch.load`` runs with a restricted unpickler (:func:`read_network_file`): the
authors' classes (``training.Net`` and ``utils.<...>Layer``) become inert stand-ins that only keep their
pickled state; torch's own tensor / parameter rebuild functions, ``torch.nn`` containers, ``torch.device``,
dtypes, storages, ``collections.OrderedDict`` and ``set`` are allowed; any other class is refused with a
:class:`~synsem_ephys.errors.DataFormatError` naming it, before anything of it runs. The weights are the
layers' ``weights`` parameters, ``(n_in, n_out)`` each.

Dale's law. The populations are read from the weight signs: in hidden layer ``k`` a unit is excitatory
if its outgoing row (of weight matrix ``k``) is ``>= 0``, inhibitory if ``<= 0`` (an all-zero row counts
as excitatory before the first inhibitory row, else inhibitory). In the published eight-layer run every
hidden layer is 75 E units followed by 25 I units (no zero rows). Should a run interleave E and I units,
:func:`load_network` reorders each such layer E first (stable), permuting the rows of its outgoing and the
columns of its incoming matrix (the network computes the same spikes), and records the order in
``net.extra['unit_order']``; :func:`load_recording` applies the same order to the dumps. If any hidden row
has both signs, the network is loaded without Dale's law (``dale=False``, cell type "hidden").

MNIST code. The authors' latency code of a pixel ``p`` (0..255) is ``x = p / 256`` (not ``/ 255``) and one
spike at ``t = 0.15 + (1 - x) (2.0 - 0.15)`` file units, zero pixels included (at 2.0): :func:`encode_pixels`.

Predictions. The class of the earliest output spike, ``-1`` if no output fires; on a tie the lowest class
index wins (numpy/torch ``argmin``, as :meth:`synsem_ephys.sim.network.Network.predict`).

What the published run holds (measured; see tests/adapters/test_fastanddeep.py, bench/bench_fastanddeep.py).
Stored test accuracy 97.00 % (9,700 of 10,000; 6 images tie on the earliest output time, 96.99 % if ties
count as wrong). The stored times come from the authors' Euler forward (step ``resolution`` = 0.01) and lie
on its grid; this package's exact forward of the same weights differs by a median 0.003 tau_syn per layer
when each layer is fed the stored spikes of the layer before, 0.021 at the output end to end, and predicts
the same class for 99.80 % of the 10,000 test images (96.93 % accuracy). The 150 dumped samples are the
test images 0-149, but their dumped output times are not rows 0-149 of ``mnist_test_spiketimes.npy``
(another forward: 696 of 1,499 spiking entries differ by 0.01-0.6 tau_syn; same classes).
"""

import collections
import importlib
import io
import math
import pickle
import re
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from synsem_ephys.errors import (
    DataFormatError,
    DataMissingError,
    SpecError,
    input_error,
)
from synsem_ephys.decision import predict
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

from ._common import import_optional

__all__ = [
    "T_EARLY", "T_LATE", "DUMP_FILES", "NetworkFile", "read_config", "read_network_file", "neuron_parameters",
    "dale_structure", "load_network", "load_recording", "load_test_outputs", "predictions_from_times",
    "accuracy_from_times", "encode_pixels", "mnist_test_input_times",
]

#: Input spike time of x = 1 in fast-and-deep's latency code (file units = tau_syn). With x = p / 256 the
#: brightest pixel (255) spikes at T_EARLY + (T_LATE - T_EARLY) / 256 = 0.1572.
T_EARLY = 0.15
#: Input spike time of x = 0, a black pixel (file units).
T_LATE = 2.0
#: The spike dumps of a run folder: role -> file name.
DUMP_FILES = {"inputs": "spiketimes_inputs_trained.npy", "hiddens": "spiketimes_hiddens_trained.npy",
              "outputs": "spiketimes_outputs_trained.npy"}
_CONFIG = "config.yaml"
_SOURCE = "fast-and-deep"


# ------------------------------------------------------------------------------------------ paths
def _run_dir(run_dir):
    path = Path(run_dir)
    if not path.is_dir():
        raise input_error("run_dir", "an existing fast-and-deep run folder (config.yaml, <dataset>_network.pt, "
                          "spiketimes_*_trained.npy ...)", f"{str(path)!r} (no such directory)",
                          "Point it at the folder of one training run.", cls=DataMissingError)
    return path


def _require_file(run, name, what):
    path = run / name
    if not path.is_file():
        raise input_error("run_dir", f"a file {name} in {run} ({what})", f"no file {path}", cls=DataMissingError)
    return path


def _load_npy(path, what):
    try:
        arr = np.load(path, allow_pickle=False)
    except ValueError as exc:  # object arrays need pickle: refuse them
        raise input_error("run_dir", f"{path.name} as a plain numeric .npy array ({what})",
                          f"{path}: {exc}", cls=DataFormatError) from exc
    except (OSError, EOFError) as exc:
        raise input_error("run_dir", f"{path.name} as a .npy file ({what})", f"{path}: {type(exc).__name__}: {exc}",
                          cls=DataFormatError) from exc
    if arr.dtype.kind not in "fiu":
        raise input_error("run_dir", f"{path.name} with numbers ({what})", f"dtype {arr.dtype}", cls=DataFormatError)
    return arr


# ------------------------------------------------------------------------------------------ config
def read_config(run_dir):
    """The run's ``config.yaml`` as a dict (``yaml.safe_load``).

    Raises
    ------
    DataMissingError
        No ``config.yaml`` in ``run_dir``.
    DataFormatError
        Not YAML, or without the ``neuron_params`` / ``network_layout`` sections.
    """
    yaml = import_optional("yaml", "the run's config.yaml")

    path = _require_file(_run_dir(run_dir), _CONFIG, "the authors' training config")
    try:
        cfg = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise input_error("run_dir", f"{_CONFIG} as YAML", f"{path}: {exc}", cls=DataFormatError) from exc
    if not isinstance(cfg, dict) or not all(isinstance(cfg.get(k), dict) for k in ("neuron_params", "network_layout")):
        raise input_error("run_dir", f"{_CONFIG} with the sections 'neuron_params' and 'network_layout'",
                          f"{path} with top-level keys {sorted(cfg) if isinstance(cfg, dict) else type(cfg).__name__}",
                          cls=DataFormatError)
    return cfg


def _param(section, key, where):
    try:
        value = float(section[key])
    except KeyError:
        raise input_error("config", f"a value {key!r} in {where}", "none", cls=DataFormatError) from None
    except (TypeError, ValueError):
        raise input_error("config", f"a number for {where}.{key}", repr(section[key]), cls=DataFormatError) from None
    if not math.isfinite(value):
        raise input_error("config", f"a finite number for {where}.{key}", value, cls=DataFormatError)
    return value


def neuron_parameters(config, tau_syn_ms=5.0, sim_params=None):
    """This simulator's neuron parameters for a fast-and-deep config (see the module docstring).

    Parameters
    ----------
    config : dict
        The run's config (:func:`read_config`).
    tau_syn_ms : float
        Milliseconds of the config's ``tau_syn``.
    sim_params : dict, optional
        ``sim_params`` stored in the network file; when given, its neuron parameters and Euler decay
        factors must agree with the config.

    Returns
    -------
    dict
        ``ms_per_unit``, ``tau_syn_ms``, ``tau_mem_ms``, ``threshold`` (this simulator's) and the config's
        ``g_leak``, ``leak``, ``tau_syn``, ``threshold_config``, ``resolution``, ``sim_time`` (file units,
        None if absent).

    Raises
    ------
    SpecError
        ``tau_mem / tau_syn`` (``1 / (g_leak tau_syn)``) is neither 1 nor 2, ``leak != 0``, or a value is
        not positive.
    DataFormatError
        A parameter is missing, or the network file's parameters disagree with the config.
    """
    try:
        tau_syn_ms = float(tau_syn_ms)
    except (TypeError, ValueError):
        raise input_error("tau_syn_ms", "a positive finite float (ms)", repr(tau_syn_ms), cls=SpecError) from None
    if not (math.isfinite(tau_syn_ms) and tau_syn_ms > 0):
        raise input_error("tau_syn_ms", "a positive finite float (ms)", tau_syn_ms, cls=SpecError)
    npar = config["neuron_params"]
    g_leak, leak = _param(npar, "g_leak", "neuron_params"), _param(npar, "leak", "neuron_params")
    tau_syn, theta = _param(npar, "tau_syn", "neuron_params"), _param(npar, "threshold", "neuron_params")
    for key, v in (("g_leak", g_leak), ("tau_syn", tau_syn)):
        if not v > 0:
            raise input_error(f"config neuron_params.{key}", "a positive number", v, cls=SpecError)
    if leak != 0.0:
        raise input_error("config neuron_params.leak", "0 (the only resting potential checked against stored spikes)",
                          leak, "Shift threshold and leak by -leak yourself if that is what the run means.", cls=SpecError)
    if not theta > 0:
        raise input_error("config neuron_params.threshold", "a threshold above the resting potential leak = 0",
                          theta, cls=SpecError)
    tau_mem = 1.0 / g_leak
    ratio = tau_mem / tau_syn
    if abs(ratio - 1.0) <= 1e-9:
        ratio, threshold = 1.0, theta / tau_syn
    elif abs(ratio - 2.0) <= 2e-9:
        ratio, threshold = 2.0, theta * (1.0 / tau_syn - 1.0 / (2.0 * tau_syn))
    else:
        raise input_error("config neuron_params", "g_leak * tau_syn = 1 (tau_mem == tau_syn) or 1/2 (tau_mem == 2 tau_syn), "
                          "the two cases with a closed-form spike time", f"g_leak = {g_leak}, tau_syn = {tau_syn}, so "
                          f"tau_mem / tau_syn = 1 / (g_leak tau_syn) = {ratio:g}", cls=SpecError)
    tpar = config.get("training_params") or {}
    resolution = float(tpar["resolution"]) if "resolution" in tpar else None
    sim_time = float(tpar["sim_time"]) if "sim_time" in tpar else None
    if sim_params:
        for key, want in (("g_leak", g_leak), ("leak", leak), ("tau_syn", tau_syn), ("threshold", theta)):
            if key in sim_params and not math.isclose(float(sim_params[key]), want, rel_tol=1e-12, abs_tol=1e-12):
                raise input_error("network file", f"sim_params[{key!r}] = {want} as in {_CONFIG}",
                                  sim_params[key], "The network file belongs to another run.", cls=DataFormatError)
        res = float(sim_params.get("resolution", resolution or 0.0))
        for key, tau in (("decay_syn", tau_syn), ("decay_mem", tau_mem)):
            if res > 0 and key in sim_params and not math.isclose(float(sim_params[key]), math.exp(-res / tau), rel_tol=1e-9):
                raise input_error("network file", f"sim_params[{key!r}] = exp(-resolution / {tau:g}) = "
                                  f"{math.exp(-res / tau)!r} (the Euler decay of tau = {tau:g})", sim_params[key],
                                  "Its time constants are not those this module infers from the config.",
                                  cls=DataFormatError)
    ms_per_unit = tau_syn_ms / tau_syn
    return {"ms_per_unit": ms_per_unit, "tau_syn_ms": tau_syn_ms, "tau_mem_ms": ratio * tau_syn_ms,
            "threshold": threshold, "g_leak": g_leak, "leak": leak, "tau_syn": tau_syn, "threshold_config": theta,
            "resolution": resolution, "sim_time": sim_time}


def _check_no_biases(config, attributes=None):
    layout = config.get("network_layout") or {}
    for where, nb in ((f"{_CONFIG} network_layout.n_biases", layout.get("n_biases")),
                      ("the network file's n_biases", (attributes or {}).get("n_biases"))):
        if nb is not None and any(int(v) != 0 for v in (nb if isinstance(nb, (list, tuple)) else [nb])):
            raise input_error(where, "no bias spikes (all 0)", nb,
                              "This simulator has no bias inputs; such a network cannot be loaded.", cls=SpecError)


# ------------------------------------------------------------------------------------------ network file
class _StandIn:
    """Inert replacement for one of the authors' classes: keeps the pickled state and runs nothing else."""

    source_class = "?"

    def __init__(self, *args, **kwargs):
        self.__dict__["args"] = args

    def __setstate__(self, state):
        if isinstance(state, tuple) and len(state) == 2:  # (dict state, slot state)
            state = {**(state[0] or {}), **(state[1] or {})}
        self.__dict__["state"] = state if isinstance(state, dict) else {"state": state}

    def __repr__(self):
        return f"<stand-in for {self.source_class}>"


_STAND_INS = {}
#: The authors' classes that become stand-ins: training.Net and the layer classes of their utils module.
_AUTHOR_CLASS = re.compile(r"^(training\.Net|utils\.[A-Za-z_][A-Za-z0-9_]*Layer)$")


def _stand_in(module, name):
    key = f"{module}.{name}"
    if key not in _STAND_INS:
        _STAND_INS[key] = type(name, (_StandIn,), {"source_class": key, "__module__": __name__})
    return _STAND_INS[key]


def _allowed_torch(module, name):
    fixed = {
        ("collections", "OrderedDict"): collections.OrderedDict,
        ("builtins", "set"): set, ("__builtin__", "set"): set,
        ("builtins", "frozenset"): frozenset, ("__builtin__", "frozenset"): frozenset,
        ("torch", "device"): torch.device, ("torch", "Size"): torch.Size,
        ("torch.nn.parameter", "Parameter"): torch.nn.Parameter,
        ("torch.nn.modules.module", "Module"): torch.nn.Module,
        ("torch.nn.modules.container", "ModuleList"): torch.nn.ModuleList,
        ("torch.nn.modules.container", "ModuleDict"): torch.nn.ModuleDict,
        ("torch.nn.modules.container", "ParameterList"): torch.nn.ParameterList,
        ("torch.nn.modules.container", "ParameterDict"): torch.nn.ParameterDict,
    }
    if (module, name) in fixed:
        return fixed[(module, name)]
    if module == "torch._utils" and name in ("_rebuild_tensor", "_rebuild_tensor_v2", "_rebuild_tensor_v3",
                                             "_rebuild_parameter", "_rebuild_parameter_with_state"):
        return getattr(torch._utils, name)
    if module == "torch":
        obj = getattr(torch, name, None)
        if isinstance(obj, torch.dtype):
            return obj
        if name.endswith("Storage") and isinstance(obj, type):  # torch.load resolves these itself first
            return obj
    return None


class _RestrictedUnpickler(pickle.Unpickler):
    """Unpickler of fast-and-deep network files: stand-ins for the authors' classes, torch internals, nothing else."""

    def find_class(self, module, name):
        key = f"{module}.{name}"
        if _AUTHOR_CLASS.match(key):
            return _stand_in(module, name)
        obj = _allowed_torch(module, name)
        if obj is not None:
            return obj
        raise input_error("network file", "only fast-and-deep classes (training.Net, utils.*Layer) and the torch "
                          "internals a pickled module needs", f"a reference to {key}",
                          "Refused before that class was imported or called; this is not a fast-and-deep network "
                          "file (or it was saved by other code).", cls=DataFormatError)


def _restricted_pickle_module():
    mod = types.ModuleType("synsem_ephys_fastanddeep_pickle")
    mod.Unpickler = _RestrictedUnpickler
    mod.UnpicklingError = pickle.UnpicklingError
    mod.load = lambda file, **kw: _RestrictedUnpickler(file, **kw).load()
    mod.loads = lambda data, **kw: _RestrictedUnpickler(io.BytesIO(data), **kw).load()
    return mod


def _plain(value, depth=0):
    """JSON-able copy of a pickled attribute (numbers, strings, lists, dicts); None for anything else."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if depth < 4 and isinstance(value, (list, tuple)):
        return [_plain(v, depth + 1) for v in value]
    if depth < 4 and isinstance(value, dict):
        return {str(k): _plain(v, depth + 1) for k, v in value.items()}
    if type(value).__name__ == "device":
        return str(value)
    return None


@dataclass(frozen=True)
class NetworkFile:
    """What :func:`read_network_file` found in a pickled ``training.Net``.

    Attributes
    ----------
    path : str
    weights : list of numpy.ndarray
        float64 ``(n_in, n_out)`` per layer, input layer first.
    attributes : dict
        The Net's plain attributes (``n_inputs``, ``layer_sizes``, ``n_biases`` ...; JSON-able).
    sim_params : dict
        The first layer's ``sim_params`` (neuron and integrator parameters).
    classes : tuple of str
        The authors' classes the file names (replaced by stand-ins).
    """

    path: str
    weights: list
    attributes: dict
    sim_params: dict
    classes: tuple


def read_network_file(path):
    """Read the weights of a pickled fast-and-deep ``training.Net`` without the authors' code.

    Parameters
    ----------
    path : str or Path
        The ``<dataset>_network.pt`` written by ``torch.save(net, path)``.

    Returns
    -------
    NetworkFile

    Raises
    ------
    DataMissingError
        No such file.
    DataFormatError
        The pickle references a class outside the allowed set (named in the message), the file cannot
        be read, or it holds no chain of ``(n_in, n_out)`` layer weights.
    """
    path = Path(path)
    if not path.is_file():
        raise input_error("path", "an existing fast-and-deep network file (<dataset>_network.pt)", f"no file {path}",
                          cls=DataMissingError)
    try:
        net = torch.load(path, map_location="cpu", pickle_module=_restricted_pickle_module(), weights_only=False)
    except DataFormatError as exc:
        raise DataFormatError(f"{path}: {exc}") from None
    except Exception as exc:  # zip / pickle / torch errors of a corrupt file
        raise input_error("path", "a network file written by torch.save", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    if not isinstance(net, _StandIn) or not isinstance(net.__dict__.get("state"), dict):
        raise input_error("path", "a pickled training.Net module", f"{path} holding {type(net).__name__}",
                          cls=DataFormatError)
    state = net.state
    layers = (state.get("_modules") or {}).get("layers")
    items = getattr(layers, "_modules", None) if isinstance(layers, torch.nn.Module) else None
    if not isinstance(items, dict) or not items:
        raise input_error("path", "a training.Net whose submodule 'layers' lists the layers",
                          f"{path} with submodules {list(state.get('_modules') or {})}", cls=DataFormatError)
    keys = sorted(items, key=lambda k: int(k) if str(k).isdigit() else k)
    weights, sim_params = [], {}
    for k in keys:
        layer = items[k]
        lstate = layer.__dict__.get("state", {}) if isinstance(layer, _StandIn) else {}
        w = (lstate.get("_parameters") or {}).get("weights")
        if not isinstance(w, torch.Tensor) or w.dim() != 2:
            raise input_error("path", f"layer {k} with a 2-D parameter 'weights'",
                              f"{path}: {type(w).__name__ if w is not None else 'none'}", cls=DataFormatError)
        if weights and weights[-1].shape[1] != w.shape[0]:
            raise input_error("path", f"layer {k}'s weights of shape ({weights[-1].shape[1]}, n_out) after a layer "
                              f"with {weights[-1].shape[1]} outputs", f"shape {tuple(w.shape)}", cls=DataFormatError)
        weights.append(w.detach().to(torch.float64).numpy().copy())
        if not sim_params and isinstance(lstate.get("sim_params"), dict):
            sim_params = _plain(lstate["sim_params"])
    attributes = {k: _plain(v) for k, v in state.items() if not k.startswith("_") and _plain(v) is not None}
    n_in = attributes.get("n_inputs")
    if n_in is not None and int(n_in) != weights[0].shape[0]:
        raise input_error("path", f"first-layer weights with n_inputs = {n_in} rows", weights[0].shape,
                          cls=DataFormatError)
    classes = tuple(sorted({net.source_class} | {getattr(items[k], "source_class", "?") for k in keys}))
    return NetworkFile(str(path), weights, attributes, sim_params, classes)


def _network_path(run, config=None):
    dataset = (config or {}).get("dataset")
    if dataset:
        p = run / f"{dataset}_network.pt"
        if p.is_file():
            return p
    found = sorted(run.glob("*_network.pt"))
    if len(found) == 1:
        return found[0]
    if len(found) > 1:
        raise input_error("run_dir", "one <dataset>_network.pt (or config 'dataset' naming one)",
                          [f.name for f in found], cls=DataFormatError)
    return None


# ------------------------------------------------------------------------------------------ Dale's law
def dale_structure(weights):
    """Excitatory / inhibitory units of each hidden layer, from the signs of its outgoing weights.

    Parameters
    ----------
    weights : list of array (n_in, n_out)
        All weight matrices, input layer first; hidden layer ``k`` (1-based) sends ``weights[k]``.

    Returns
    -------
    dict
        ``dale`` (bool: every hidden row has one sign), ``hidden`` (``(n_exc, n_inh)`` per layer; ``(n, 0)``
        when not ``dale``), ``order`` (per layer: the permutation putting E first, or None if the E units
        already come first), ``mixed_rows`` (rows with both signs per layer), ``zero_rows`` (all-zero rows).
    """
    hidden, order, mixed, zeros = [], [], [], []
    for k in range(1, len(weights)):
        W = np.asarray(weights[k])
        pos = (W >= 0).all(axis=1) & (W > 0).any(axis=1)
        neg = (W <= 0).all(axis=1) & (W < 0).any(axis=1)
        zero = (W == 0).all(axis=1)
        mixed.append(int(np.sum(~(pos | neg | zero))))
        zeros.append(int(zero.sum()))
        first_i = int(np.argmax(neg)) if neg.any() else W.shape[0]
        is_i = neg | (zero & (np.arange(W.shape[0]) > first_i))
        perm = np.argsort(is_i, kind="stable")
        n_exc = int((~is_i).sum())
        hidden.append((n_exc, W.shape[0] - n_exc))
        order.append(None if np.array_equal(perm, np.arange(W.shape[0])) else perm.tolist())
    dale = not any(mixed)
    if not dale:
        hidden = [(sum(h), 0) for h in hidden]
        order = [None] * len(order)
    return {"dale": dale, "hidden": hidden, "order": order, "mixed_rows": mixed, "zero_rows": zeros}


def _permute(weights, order):
    w = [np.array(m, dtype=np.float64, copy=True) for m in weights]
    for k, perm in enumerate(order, start=1):
        if perm is not None:
            w[k - 1] = w[k - 1][:, perm]
            w[k] = w[k][perm, :]
    return w


def _spec(n_in, hidden, n_out, par, dale):
    from synsem_ephys.spec import NetworkSpec

    return NetworkSpec(n_inputs=int(n_in), hidden=tuple(tuple(h) for h in hidden), n_outputs=int(n_out),
                       tau_syn_ms=par["tau_syn_ms"], tau_mem_ms=par["tau_mem_ms"], threshold=par["threshold"],
                       dale=bool(dale))


def _config_summary(config, par):
    layout = config.get("network_layout") or {}
    tpar = config.get("training_params") or {}
    out = {k: par[k] for k in ("g_leak", "leak", "tau_syn", "resolution", "sim_time")}
    out["threshold"] = par["threshold_config"]
    out["dataset"] = config.get("dataset")
    out["n_inputs"] = layout.get("n_inputs")
    out["layer_sizes"] = _plain(layout.get("layer_sizes"))
    for key in ("epoch_number", "use_forward_integrator", "torch_seed", "numpy_seed"):
        if key in tpar:
            out[key] = _plain(tpar[key])
    return out


def load_network(run_dir, *, tau_syn_ms=5.0, dtype=torch.float64):
    """The trained network of a fast-and-deep run folder as a :class:`~synsem_ephys.sim.network.Network`.

    Parameters
    ----------
    run_dir : str or Path
        Folder with ``config.yaml`` and ``<dataset>_network.pt``.
    tau_syn_ms : float
        Milliseconds of the config's ``tau_syn`` (the file's time unit when ``tau_syn: 1``).
    dtype : torch.dtype
        torch.float64 (default) or torch.float32.

    Returns
    -------
    Network
        Weights as stored (E units of each hidden layer first, see the module docstring); ``net.extra``
        holds ``source``, ``run_dir``, ``network_file``, ``config`` (key parameters), ``dale`` (the sign
        analysis) and ``unit_order``.

    Raises
    ------
    DataMissingError
        The folder, its config or its network file is missing.
    DataFormatError, SpecError
        See :func:`read_network_file`, :func:`neuron_parameters`; also bias spikes or sizes that
        disagree with the config.
    """
    from synsem_ephys.sim.network import Network

    run = _run_dir(run_dir)
    config = read_config(run)
    path = _network_path(run, config)
    if path is None:
        _require_file(run, f"{config.get('dataset', 'mnist')}_network.pt", "the trained network, torch.save of training.Net")
    nf = read_network_file(path)
    par = neuron_parameters(config, tau_syn_ms, nf.sim_params)
    _check_no_biases(config, nf.attributes)
    layout = config["network_layout"]
    sizes = [w.shape[1] for w in nf.weights]
    want = [int(v) for v in layout.get("layer_sizes", sizes)]
    if sizes != want or int(layout.get("n_inputs", nf.weights[0].shape[0])) != nf.weights[0].shape[0]:
        raise input_error("network file", f"n_inputs {layout.get('n_inputs')} and layer sizes {want} as in {_CONFIG}",
                          f"{nf.weights[0].shape[0]} inputs, layer sizes {sizes} in {path}", cls=DataFormatError)
    dale = dale_structure(nf.weights)
    weights = _permute(nf.weights, dale["order"])
    spec = _spec(nf.weights[0].shape[0], dale["hidden"], sizes[-1], par, dale["dale"])
    net = Network.from_weights(spec, weights, dtype=dtype)
    net.extra = {"source": _SOURCE, "run_dir": str(run), "network_file": path.name, "config": _config_summary(config, par),
                 "ms_per_unit": par["ms_per_unit"], "dale": dale, "unit_order": dale["order"],
                 "classes": list(nf.classes)}
    return net


# ------------------------------------------------------------------------------------------ recordings
def _n_exc_list(n_exc, sizes):
    if n_exc is None:
        return [(3 * s) // 4 for s in sizes]
    if isinstance(n_exc, (int, np.integer)) and not isinstance(n_exc, bool):
        vals = [int(n_exc)] * len(sizes)
    else:
        try:
            vals = [int(v) for v in n_exc]
        except TypeError:
            raise input_error("n_exc", "an int or one int per hidden layer", repr(n_exc)) from None
        if len(vals) != len(sizes):
            raise input_error("n_exc", f"{len(sizes)} values (one per hidden layer)", f"{len(vals)} values")
    bad = [(k, v, s) for k, (v, s) in enumerate(zip(vals, sizes)) if not 0 <= v <= s]
    if bad:
        raise input_error("n_exc", "0 <= n_exc <= layer size in every hidden layer",
                          ", ".join(f"layer {k + 1}: {v} of {s}" for k, v, s in bad))
    return vals


def _datasets_module():
    return importlib.import_module("synsem_ephys.train.data")


def encode_pixels(pixels, *, tau_syn_ms=5.0):
    """Fast-and-deep's latency code of 8-bit pixels, in ms.

    ``t = (T_EARLY + (1 - p / 256) (T_LATE - T_EARLY)) * tau_syn_ms``; every pixel spikes (0 at ``T_LATE``).

    Parameters
    ----------
    pixels : array_like of int in 0..255
    tau_syn_ms : float

    Returns
    -------
    numpy.ndarray of float64, same shape
    """
    p = np.asarray(pixels)
    if p.size and (p.min() < 0 or p.max() > 255 or np.any(p != np.rint(p))):
        raise input_error("pixels", "integers 0..255", f"range [{p.min()}, {p.max()}]")
    return (T_EARLY + (1.0 - p.astype(np.float64) / 256.0) * (T_LATE - T_EARLY)) * float(tau_syn_ms)


def mnist_test_input_times(mnist_dir=None, *, tau_syn_ms=5.0, n=None):
    """The MNIST test set encoded the authors' way: ``(times_ms (n, 784), labels (n,))``.

    ``mnist_dir`` is resolved like :func:`synsem_ephys.train.data.mnist_dir`; ``n`` keeps the first
    ``n`` images.
    """
    data = _datasets_module().load_mnist("test", mnist_dir)
    x, y = (data.x, data.y) if n is None else (data.x[:n], data.y[:n])
    return encode_pixels(np.rint(x * 255.0), tau_syn_ms=tau_syn_ms), np.asarray(y, np.int64)


def _match_mnist(inputs_units, mnist_dir):
    """MNIST test index and label of each dumped input row (-1 where no test image has that code)."""
    p = 256.0 * (1.0 - (inputs_units - T_EARLY) / (T_LATE - T_EARLY))
    code = np.all(np.isfinite(p) & (np.abs(p - np.rint(p)) < 1e-6) & (np.rint(p) >= 0) & (np.rint(p) <= 255), axis=1)
    data = _datasets_module().load_mnist("test", mnist_dir)
    pix = np.rint(data.x * 255.0).astype(np.uint8)
    if pix.shape[1] != inputs_units.shape[1]:
        raise input_error("mnist_dir", f"images of {inputs_units.shape[1]} pixels like the dumped inputs",
                          f"{pix.shape[1]} pixels", cls=DataFormatError)
    lookup = {}
    for i in range(pix.shape[0] - 1, -1, -1):  # first occurrence wins
        lookup[pix[i].tobytes()] = i
    idx = np.full(inputs_units.shape[0], -1, np.int64)
    for s in np.flatnonzero(code):
        idx[s] = lookup.get(np.rint(p[s]).astype(np.uint8).tobytes(), -1)
    labels = np.where(idx >= 0, np.asarray(data.y, np.int64)[np.maximum(idx, 0)], -1)
    return idx, labels


def predictions_from_times(times, *, ties="first"):
    """Class of the earliest output spike per row; -1 if no output fires.

    Parameters
    ----------
    times : array (n, n_classes)
        Output first-spike times (any unit; +inf = no spike).
    ties : {"first", "none"}
        Several classes sharing the earliest time: the lowest index (``argmin``; default) or -1.
    """
    t = np.asarray(times, dtype=np.float64)
    if t.ndim != 2 or t.shape[1] == 0:
        raise input_error("times", "a 2-D array (n_samples, n_classes)", f"shape {t.shape}")
    if ties not in ("first", "none"):
        raise input_error("ties", "'first' or 'none'", repr(ties))
    pred = predict(t)  # the package's one rule: earliest output spike, ties to the lowest index, -1 if none
    if ties == "none":
        tmin = t.min(axis=1, keepdims=True)
        pred = np.where((t == tmin).sum(axis=1) > 1, -1, pred)
    return pred.astype(np.int64)


def accuracy_from_times(times, labels, *, ties="first"):
    """Fraction of rows whose earliest output spike is the label's (see :func:`predictions_from_times`).

    With ``ties="first"`` a tie counts for the lowest tied class (the published 97.00 % of the eight-layer
    run); with ``ties="none"`` a tied row counts as wrong. Rows without any output spike are wrong.
    """
    lab = np.asarray(labels)
    pred = predictions_from_times(times, ties=ties)
    if lab.shape != pred.shape:
        raise input_error("labels", f"shape {pred.shape} (one per row of times)", f"shape {lab.shape}")
    return float(np.mean(pred == lab)) if lab.size else float("nan")


def load_test_outputs(run_dir, *, tau_syn_ms=5.0):
    """The stored test-set output times and labels of a run: ``(times_ms (n, n_out), labels (n,))``.

    Times are the authors' forward (Euler at ``resolution``) converted to ms; +inf = no spike. The
    time unit is the config's ``tau_syn`` when ``config.yaml`` exists, else tau_syn = 1 file unit.
    """
    run = _run_dir(run_dir)
    ms = float(tau_syn_ms)
    dataset = "mnist"
    if (run / _CONFIG).is_file():
        config = read_config(run)
        ms = neuron_parameters(config, tau_syn_ms)["ms_per_unit"]
        dataset = config.get("dataset") or dataset
    tpath = _require_file(run, f"{dataset}_test_spiketimes.npy", "(n_test, n_out) stored output spike times")
    lpath = _require_file(run, f"{dataset}_test_labels.npy", "(n_test,) labels of the stored output times")
    times, labels = _load_npy(tpath, "output spike times"), _load_npy(lpath, "labels")
    if times.ndim != 2 or labels.shape != (times.shape[0],):
        raise input_error("run_dir", "output times (n, n_out) and labels (n,)",
                          f"{tpath.name} {times.shape}, {lpath.name} {labels.shape}", cls=DataFormatError)
    if np.isnan(times).any() or (times < 0).any():
        raise input_error("run_dir", f"{tpath.name} with times >= 0 or inf", "NaN or negative values", cls=DataFormatError)
    return times.astype(np.float64) * ms, labels.astype(np.int64)


def load_recording(run_dir, *, tau_syn_ms=5.0, n_exc=None, mnist_dir="auto"):
    """The dumped spike times of a run folder as a :class:`~synsem_ephys.record.SpikeRecord`.

    Parameters
    ----------
    run_dir : str or Path
        Folder with ``spiketimes_{inputs,hiddens,outputs}_trained.npy``; ``config.yaml`` and the network
        file are used when present.
    tau_syn_ms : float
        Milliseconds of the config's ``tau_syn`` (of one file time unit when there is no config).
    n_exc : int or sequence of int, optional
        Excitatory units per hidden layer (the first ``n_exc`` units of the layer). Only needed without a
        network file (with one, the E/I split is read from the weight signs and a different ``n_exc`` is an
        error). Default without a network file: the Dale convention of this package, the first 3/4 of each
        layer (``(3 * size) // 4``) excitatory, the rest inhibitory -- an assumption, stated in
        ``meta['cell_types_from']``.
    mnist_dir : str or Path or "auto" or None
        Where the MNIST test set is, to label the dumps: ``"auto"`` (default) the usual lookup of
        :func:`synsem_ephys.train.data.mnist_dir` if it finds a copy and the dumps have 784 inputs, None
        never. Labels come from a ``labels_trained.npy`` of one label per dumped sample if the folder has one (the
        published run has none: its ``mnist_test_labels.npy`` belongs to the 10,000 stored test outputs,
        and although the dumps are test images 0-149, their output times are another forward than rows
        0-149 of ``mnist_test_spiketimes.npy`` -- 696 of 1,499 spiking entries differ, by up to 0.6
        tau_syn, with the same predicted classes -- so the rows cannot tie the two files together);
        else, with ``mnist_dir``, by matching each dumped input row
        exactly to the authors' latency code of an MNIST test image (:func:`encode_pixels`; trial column
        ``mnist_test_index``, -1 where none matches); else they are unknown (-1).

    Returns
    -------
    SpikeRecord
        Units: ``input`` (layer 0), ``hidden{k}_E`` / ``hidden{k}_I`` (layers 1..n; ``hidden{k}`` without
        Dale's law), ``output``, as :meth:`Network.record` names them; unit column ``source_unit`` (index in
        the authors' layer, differs only for reordered layers). Trials: one per dumped sample (column
        ``sample_index``), predictions from the earliest output spike (-1 if none, ties to the lowest
        class), decision time = first output spike. ``trial_duration_ms`` = the config's ``sim_time``
        when every spike is earlier. ``meta``: ``source`` ("fast-and-deep"), ``run_dir``, ``tau_syn_ms``,
        ``ms_per_unit``, ``config`` (key parameters), ``spec`` (JSON, when the config is present),
        ``labels_from``, ``cell_types_from``.

    Raises
    ------
    DataMissingError
        The folder or a dump is missing.
    DataFormatError
        Dumps of inconsistent shapes, NaN or negative times; a network file that does not fit the dumps.
    """
    from synsem_ephys import __version__

    run = _run_dir(run_dir)
    paths = {role: _require_file(run, name, f"dumped {role} spike times") for role, name in DUMP_FILES.items()}
    arrs = {role: _load_npy(path, f"{role} spike times") for role, path in paths.items()}
    t_in, t_hid, t_out = arrs["inputs"], arrs["hiddens"], arrs["outputs"]
    if t_in.ndim != 2 or t_out.ndim != 2 or t_hid.ndim != 3 or not (t_in.shape[0] == t_hid.shape[1] == t_out.shape[0]):
        raise input_error("run_dir", "dumps inputs (n, n_in), hiddens (n_layers, n, n_units), outputs (n, n_out)",
                          f"shapes {t_in.shape}, {t_hid.shape}, {t_out.shape}", cls=DataFormatError)
    for role, a in arrs.items():
        if np.isnan(a).any() or (a < 0).any():
            raise input_error("run_dir", f"{DUMP_FILES[role]} with times >= 0 or inf", "NaN or negative values",
                              cls=DataFormatError)
    n, n_layers = t_in.shape[0], t_hid.shape[0]
    sizes = [t_hid.shape[2]] * n_layers
    config = read_config(run) if (run / _CONFIG).is_file() else None
    par = neuron_parameters(config, tau_syn_ms) if config else None
    ms = par["ms_per_unit"] if par else float(tau_syn_ms)
    hid = [np.array(t_hid[k], dtype=np.float64) for k in range(n_layers)]
    order = [None] * n_layers
    net_path = _network_path(run, config)
    if net_path is not None:
        nf = read_network_file(net_path)
        fsizes = [w.shape[1] for w in nf.weights]
        if nf.weights[0].shape[0] != t_in.shape[1] or fsizes != sizes + [t_out.shape[1]]:
            raise input_error("run_dir", f"a network file fitting the dumps ({t_in.shape[1]} inputs, layer sizes "
                              f"{sizes + [t_out.shape[1]]})", f"{nf.weights[0].shape[0]} inputs, layer sizes {fsizes} "
                              f"in {net_path.name}", cls=DataFormatError)
        dale = dale_structure(nf.weights)
        if n_exc is not None and dale["dale"] and _n_exc_list(n_exc, sizes) != [h[0] for h in dale["hidden"]]:
            raise input_error("n_exc", f"the split read from {net_path.name}'s weight signs "
                              f"{[h[0] for h in dale['hidden']]} (or None)", _n_exc_list(n_exc, sizes))
        hidden, is_dale, order = dale["hidden"], dale["dale"], dale["order"]
        cells = (f"weight signs of {net_path.name}" + ("" if is_dale else " (rows of both signs: no Dale's law)")
                 + ("" if not any(o is not None for o in order) else "; interleaved layers reordered E first"))
        for k, perm in enumerate(order):
            if perm is not None:
                hid[k] = hid[k][:, perm]
    else:
        ne = _n_exc_list(n_exc, sizes)
        hidden, is_dale = [(e, s - e) for e, s in zip(ne, sizes)], True
        cells = ("n_exc argument: first n_exc units of each hidden layer excitatory" if n_exc is not None else
                 "assumed (no network file): first (3 * size) // 4 units of each hidden layer excitatory, the rest "
                 "inhibitory")
    pops_par = par or {"tau_syn_ms": float(tau_syn_ms), "tau_mem_ms": float(tau_syn_ms), "threshold": 1.0}
    spec = _spec(t_in.shape[1], hidden, t_out.shape[1], pops_par, is_dale)
    mats = [t_in.astype(np.float64) * ms] + [h * ms for h in hid] + [t_out.astype(np.float64) * ms]

    labels, mnist_idx = np.full(n, -1, np.int64), None
    lab_path = run / "labels_trained.npy"
    if lab_path.is_file():
        lab = _load_npy(lab_path, "labels of the dumped samples")
        if lab.shape != (n,):
            raise input_error("run_dir", f"labels_trained.npy with {n} labels (one per dumped sample)",
                              f"shape {lab.shape}", cls=DataFormatError)
        labels, labels_from = lab.astype(np.int64), "labels_trained.npy"
    else:
        where = mnist_dir
        if mnist_dir == "auto":  # the usual MNIST lookup (SYNSEM_MNIST_DIR, $SYNSEM_DATA/mnist, ...), if any,
            where = None          # for dumps of MNIST-sized inputs
            if t_in.shape[1] == 784:
                try:
                    where = _datasets_module().mnist_dir(None)
                except DataMissingError:
                    where = None
        if where is not None:
            mnist_idx, labels = _match_mnist(t_in.astype(np.float64), where)
            labels_from = (f"MNIST test set in {where} matched by input code ({int((mnist_idx >= 0).sum())} of {n} "
                           "samples found)")
        else:
            labels_from = ("unknown (no labels file for the dumps and no MNIST copy found; pass mnist_dir to match "
                           "the inputs to MNIST)")
    pred = predictions_from_times(t_out)
    finite = np.concatenate([m[np.isfinite(m)] for m in mats])
    duration = None
    if par and par["sim_time"] and (not finite.size or finite.max() < par["sim_time"] * ms):
        duration = par["sim_time"] * ms
    meta = {"source": _SOURCE, "run_dir": str(run), "tau_syn_ms": float(tau_syn_ms), "ms_per_unit": ms,
            "time_unit_of_files": "tau_syn of config.yaml" if config else "assumed tau_syn (no config.yaml)",
            "config": _config_summary(config, par) if config else None, "labels_from": labels_from,
            "cell_types_from": cells, "network_file": net_path.name if net_path else None,
            "package_version": __version__, "dumps": list(DUMP_FILES.values())}
    if config:
        meta["spec"] = spec.to_json()
    rec = SpikeRecord.from_layer_times(mats, spec.populations(), labels=labels, predictions=pred,
                                       trial_duration_ms=duration, meta=meta)
    source_unit = np.concatenate([np.arange(t_in.shape[1])]
                                 + [np.asarray(o if o is not None else np.arange(s)) for o, s in zip(order, sizes)]
                                 + [np.arange(t_out.shape[1])])
    u = rec.units
    units = UnitTable(u.name, u.population, u.layer, u.cell_type, u.index_in_population, u.channel_id,
                      {**u.columns, "source_unit": source_unit})
    tcols = {**rec.trials.columns, "sample_index": np.arange(n)}
    if mnist_idx is not None:
        tcols["mnist_test_index"] = mnist_idx
    names = tuple(str(i) for i in range(t_out.shape[1])) if (config or {}).get("dataset") == "mnist" else ()
    trials = TrialTable(rec.trials.label, rec.trials.prediction, rec.trials.decision_time_ms, tcols, names)
    return SpikeRecord(rec.times_ms, rec.unit_index, rec.trial_index, units, trials, rec.trial_duration_ms, rec.meta)
