"""MATLAB trial matrices: spike counts per (trial, time bin), e.g. Kramer & Eden's STN unit.

File ``10_spikes-1.mat`` (Case Studies in Neural Data Analysis): ``train`` (50 x 2000, 0/1, 1-ms bins),
``t`` (1 x 2000, ms, -1000 .. 999, 0 = GO cue), ``direction`` (50 x 1, 0 = left, 1 = right).
A count ``c`` in the bin starting at ``t[j]`` becomes ``c`` spikes at time ``t[j] - t[0]`` ms from the
trial start (bin resolution; the file holds no finer timing). The alignment event (``t = 0``) becomes the
trial column ``stimulus_onset_ms = -t[0]``. A 3-D matrix is read as (trials, units, bins) when
``unit_axis=1`` is given.
"""

import numpy as np

from synsem_ephys.errors import DataFormatError, input_error
from synsem_ephys.record import SpikeRecord, TrialTable, UnitTable

from ._common import import_optional, require_path

__all__ = ["load_trial_matrix", "load_kramer_stn"]


def load_trial_matrix(path, *, train_key="train", time_key="t", label_key=None, time_scale_ms=1.0,
                      label_names=None, population=None, unit_axis=None):
    """Load a MATLAB (v5/v7) file holding a trial x bin spike matrix into a SpikeRecord.

    Parameters
    ----------
    path : str or Path
    train_key : str
        Variable with the counts, shape (n_trials, n_bins) or (n_trials, n_units, n_bins).
    time_key : str
        Variable with the bin start times (n_bins,), evenly spaced, in units of ``time_scale_ms`` ms.
    label_key : str, optional
        Variable with one integer class label per trial.
    time_scale_ms : float
        Milliseconds per unit of ``time_key`` (1 for ms, 1000 for s).
    label_names : sequence of str, optional
    population : str, optional
        Population name (default: the file name without extension).
    unit_axis : int, optional
        1 for a 3-D (trials, units, bins) matrix.

    Returns
    -------
    SpikeRecord
        ``trial_duration_ms`` = n_bins x bin width.
    """
    sio = import_optional("scipy.io", "MATLAB files")
    path = require_path(path, "MATLAB")
    try:
        mat = sio.loadmat(str(path))
    except NotImplementedError as exc:  # v7.3 files are HDF5
        raise input_error("path", "a MATLAB v5/v7 file", f"{path} (v7.3/HDF5)", "Re-save with -v7.",
                          cls=DataFormatError) from exc
    except Exception as exc:
        raise input_error("path", "a MATLAB .mat file", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    for key in (train_key, time_key) + ((label_key,) if label_key else ()):
        if key not in mat:
            raise input_error(f"{key!r}", f"a variable of {path.name}", "missing",
                              f"Variables present: {sorted(k for k in mat if not k.startswith('__'))}.",
                              cls=DataFormatError)
    counts = np.asarray(mat[train_key])
    if unit_axis is None and counts.ndim == 2:
        counts = counts[:, None, :]
    elif unit_axis == 1 and counts.ndim == 3:
        pass
    else:
        raise input_error(train_key, "a (trials, bins) matrix, or (trials, units, bins) with unit_axis=1",
                          f"shape {counts.shape}, unit_axis={unit_axis}", cls=DataFormatError)
    if counts.dtype.kind not in "biuf" or np.any(counts < 0) or np.any(counts != np.round(counts)):
        raise input_error(train_key, "non-negative integer spike counts", f"dtype {counts.dtype}", cls=DataFormatError)
    t = np.asarray(mat[time_key], float).ravel() * float(time_scale_ms)
    n_trials, n_units, n_bins = counts.shape
    if t.size != n_bins:
        raise input_error(time_key, f"{n_bins} bin times (columns of {train_key})", f"{t.size}", cls=DataFormatError)
    width = np.diff(t)
    if n_bins < 2 or np.any(width <= 0) or not np.allclose(width, width[0], rtol=1e-9, atol=0):
        raise input_error(time_key, "at least 2 evenly spaced increasing bin times", "uneven or unsorted times",
                          cls=DataFormatError)
    bin_ms = float(width[0])
    labels = np.full(n_trials, -1)
    if label_key:
        labels = np.asarray(mat[label_key]).ravel()
        if labels.size != n_trials:
            raise input_error(label_key, f"{n_trials} labels (rows of {train_key})", labels.size, cls=DataFormatError)
    r, u, j = np.nonzero(counts)
    reps = counts[r, u, j].astype(np.int64)
    rel = (t - t[0])[j]
    times = np.repeat(rel, reps)
    order = np.lexsort((times, np.repeat(r, reps)))
    name = population or path.stem
    units = UnitTable.simple(n_units, population=name, names=[f"{name}_u{i}" for i in range(n_units)])
    trials = TrialTable(labels, columns={"stimulus_onset_ms": np.full(n_trials, -t[0])},
                        label_names=tuple(label_names or ()))
    meta = {"source": str(path), "bin_ms": bin_ms, "time_key": time_key, "train_key": train_key,
            "align_event_ms_from_trial_start": float(-t[0])}
    return SpikeRecord(times[order], np.repeat(u, reps)[order], np.repeat(r, reps)[order], units, trials,
                       n_bins * bin_ms, meta)


def load_kramer_stn(path):
    """Kramer & Eden's subthalamic-nucleus unit: 50 trials, labels left (0) / right (1), GO cue at 1000 ms."""
    return load_trial_matrix(path, train_key="train", time_key="t", label_key="direction", time_scale_ms=1.0,
                             label_names=("left", "right"), population="STN")
