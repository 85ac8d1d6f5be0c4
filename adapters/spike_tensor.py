"""Time-stepped spike tensors (snnTorch, Norse, any clock-driven simulator) into a SpikeRecord.

A layer's recording is a tensor of spike counts per time step, ``(time, batch, units)`` (``layout="tbu"``,
what ``torch.stack`` of snnTorch's per-step outputs and Norse's sequence modules give) or
``(batch, time, units)`` (``layout="btu"``); binary (0/1, bool) or counts. One batch entry is one trial.

Time convention: the spike of step ``k`` is at ``k * dt_ms``, the **start** of its step (step 0 at 0 ms),
the instant at which a clock-driven simulator reports it; a trial lasts ``n_steps * dt_ms``, so every
spike lies in ``[0, n_steps * dt_ms)``. A count ``c > 1`` becomes ``c`` spikes at that same time.

A list of tensors is several layers (sharing time and batch): layer ``k`` is population
``layer_names[k]`` (default ``"layer{k}"``), ``layer`` ``k`` in the unit table. Torch tensors are
converted with ``detach().cpu().numpy()``; torch itself is never imported here (a tensor's module is
already loaded when one is passed).
"""

import sys

import numpy as np

from synsem_ephys.errors import input_error
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable
from synsem_ephys.spec import unit_name

from .pynn import module_version

__all__ = ["from_spike_tensor", "LAYOUTS"]

#: Accepted layouts: name -> axis order of (time, batch, units).
LAYOUTS = {"tbu": (0, 1, 2), "btu": (1, 0, 2)}


def _as_numpy(x, argument):
    """``x`` as a numpy array; a torch tensor through detach / cpu / numpy (torch is not imported here)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy(), "torch"
    if isinstance(x, np.ndarray):
        return x, "numpy"
    raise input_error(argument, "a numpy array or a torch tensor (time, batch, units) or (batch, time, units)",
                      type(x).__name__)


def _counts(x, argument):
    if x.ndim != 3:
        raise input_error(argument, "a 3-D tensor (time, batch, units) or (batch, time, units)", f"shape {x.shape}")
    if x.dtype.kind == "b":
        return x.astype(np.int64)
    if x.dtype.kind not in "iuf":
        raise input_error(argument, "spike counts (bool, int or float)", f"dtype {x.dtype}")
    if x.dtype.kind == "f" and (not np.all(np.isfinite(x)) or np.any(x != np.round(x))):
        raise input_error(argument, "whole spike counts (0, 1, 2, ...)", "non-integer or non-finite values",
                          "Threshold membrane traces into spikes first.")
    if x.size and x.min() < 0:
        raise input_error(argument, "counts >= 0", f"minimum {x.min()}")
    return x.astype(np.int64)


def from_spike_tensor(spikes, dt_ms, *, layout="tbu", layer_names=None, labels=None, label_names=None,
                      simulator=None):
    """Binary or count spike tensors as a SpikeRecord (one batch entry = one trial).

    Parameters
    ----------
    spikes : ndarray or torch.Tensor, or a list of them
        ``(time, batch, units)`` or ``(batch, time, units)`` per layer; a list is several layers with the
        same numbers of steps and trials.
    dt_ms : float
        The time step in ms; the spike of step ``k`` is at ``k * dt_ms`` (see the module docstring).
    layout : {"tbu", "btu"}
        Axis order of every tensor.
    layer_names : sequence of str, optional
        One population name per layer; default ``"layer0"``, ``"layer1"``, ...
    labels, label_names : optional
        Per-trial class labels (``batch`` ints, -1 = none) and their names.
    simulator : str, optional
        The producing package (``"snntorch"``, ``"norse"``): stored in ``meta`` with its version when
        that module is imported in this process.

    Returns
    -------
    SpikeRecord
        ``trial_duration_ms = n_steps * dt_ms``; units ``unit_name(layer name, k)``, ``cell_type``
        "unknown". ``meta``: ``source`` "spike_tensor", ``time_convention``, ``dt_ms``, ``layout``,
        ``n_steps``, ``tensor_type``, ``simulator``, ``simulator_version``, ``populations``.
    """
    if layout not in LAYOUTS:
        raise input_error("layout", f"one of {sorted(LAYOUTS)}", repr(layout))
    try:
        dt = float(dt_ms)
    except (TypeError, ValueError):
        raise input_error("dt_ms", "a finite float > 0 (ms)", repr(dt_ms)) from None
    if not (np.isfinite(dt) and dt > 0):
        raise input_error("dt_ms", "a finite float > 0 (ms)", dt_ms)
    layers = list(spikes) if isinstance(spikes, (list, tuple)) else [spikes]
    if not layers:
        raise input_error("spikes", "a tensor or a non-empty list of tensors", "an empty list")
    many = isinstance(spikes, (list, tuple))
    mats, kinds = [], set()
    for k, x in enumerate(layers):
        arg = f"spikes[{k}]" if many else "spikes"
        arr, kind = _as_numpy(x, arg)
        kinds.add(kind)
        arr = _counts(arr, arg)
        mats.append(np.transpose(arr, LAYOUTS[layout]))  # -> (time, batch, units)
    n_steps, n_trials = mats[0].shape[:2]
    for k, m in enumerate(mats):
        if m.shape[:2] != (n_steps, n_trials):
            raise input_error(f"spikes[{k}]", f"{n_steps} steps and {n_trials} trials like spikes[0] (layout {layout!r})",
                              f"{m.shape[0]} steps and {m.shape[1]} trials")
    if n_steps == 0 or n_trials == 0:
        raise input_error("spikes", "at least one time step and one trial", f"{n_steps} steps, {n_trials} trials")
    names = [f"layer{k}" for k in range(len(mats))] if layer_names is None else [str(n) for n in layer_names]
    if len(names) != len(mats) or len(set(names)) != len(names):
        raise input_error("layer_names", f"{len(mats)} distinct names (one per layer)", list(names))
    times, uidx, ridx = [], [], []
    first = 0
    for m in mats:
        step, trial, unit = np.nonzero(m)
        c = m[step, trial, unit]
        times.append(np.repeat(step * dt, c))
        ridx.append(np.repeat(trial, c))
        uidx.append(np.repeat(unit + first, c))
        first += m.shape[2]
    sizes = [m.shape[2] for m in mats]
    units = UnitTable(name=[unit_name(n, i) for n, s in zip(names, sizes) for i in range(s)],
                      population=[n for n, s in zip(names, sizes) for _ in range(s)],
                      layer=[k for k, s in enumerate(sizes) for _ in range(s)],
                      cell_type=np.full(first, "unknown"),
                      index_in_population=np.concatenate([np.arange(s) for s in sizes]), channel_id=np.arange(first))
    lab = np.full(n_trials, -1) if labels is None else np.asarray(
        _as_numpy(labels, "labels")[0] if not isinstance(labels, (list, tuple)) else labels)
    if lab.shape != (n_trials,):
        raise input_error("labels", f"one label per trial, shape ({n_trials},)", f"shape {lab.shape}")
    starts = np.cumsum([0] + sizes)
    meta = {"source": "spike_tensor", "time_convention": "spike of step k at k * dt_ms (start of the step)",
            "dt_ms": dt, "layout": layout, "n_steps": int(n_steps), "tensor_type": sorted(kinds),
            "simulator": simulator, "simulator_version": module_version(simulator) if simulator else None,
            "torch_version": module_version("torch") if "torch" in kinds else None,
            "populations": [{"name": n, "size": int(s), "first_unit": int(a), "layer": k}
                            for k, (n, s, a) in enumerate(zip(names, sizes, starts))]}
    return SpikeRecord(np.concatenate(times), np.concatenate(uidx), np.concatenate(ridx), units,
                       TrialTable(lab, label_names=label_names or ()), n_steps * dt, meta)
