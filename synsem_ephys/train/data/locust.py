"""Locust antennal-lobe odour responses (C. Pouzat, 2001-02-14, tetrode B) as a timing dataset.

The recording: 10 spike-sorted units, 14 stimulus groups of 10-30 trials of 30 s each (read with
:func:`synsem_ephys.adapters.spiketimes_text.load_locust`). The odour response starts ~10.15 s into each
trial (the population PSTH rises from ~3,100 to ~5,300 spikes per 100 ms bin between 10.1 and 10.4 s and
stays up until ~11.2 s; the files store no onset time).

A sample is one trial of one of the 10 odour groups (C3H_1 .. C3H_6, Citral, Mint_1, Octanol_1, Vanilla_1;
the four Spontaneous groups have no odour and are left out): 250 trials. Its features are, for every unit,
the latencies of its first :data:`K_SPIKES` spikes in the response window ``[ONSET_MS, ONSET_MS + WINDOW_MS)``,
coded as ``x = 1 - latency / WINDOW_MS`` (in (0, 1]); a spike the unit does not fire in the window is
``x = 0`` (use ``zero_never_spikes: true``: no input spike).  Feature ``u * K_SPIKES + j`` is the
``j``-th spike of unit ``u``.  The latency code then maps the 500 ms window onto the network's input span
(``t_early .. t_late`` in units of tau_syn), i.e. it compresses time.

Splits: stratified 5-fold cross-validation over the trials of each class. ``seed`` selects the fold
(``seed % 5``) and the permutation (``seed // 5``); ``"test"`` is that fold (~50 trials), ``"train"``
the other four. Seeds 0..4 are one full cross-validation.

What it measures and its limits: 25-30 trials per odour (10 for C3H_4); chance is the largest class,
30 / 250 = 12 % of the trials (C3H_3, C3H_5, C3H_6). The six C3H groups are the same odour presented in
six blocks, so telling them apart is near chance by design; the spontaneous rate is high (~8 spikes/s per
unit), so first-spike latencies carry both response timing and background firing.

Data directory: ``data_dir`` (the folder of the text files), else ``data_root("ephys", "locust20010214")``
(``$SYNSEM_DATA``, default ``<repository>/../shared/data``); a missing directory raises
:class:`~synsem_ephys.errors.DataMissingError` naming the path and the variable.
"""

from functools import lru_cache
from pathlib import Path

import numpy as np

from ...errors import DataMissingError, input_error
from .base import LabelledData

__all__ = [
    "K_SPIKES",
    "LOCUST_DIR",
    "N_FOLDS",
    "N_UNITS",
    "ODOURS",
    "ONSET_MS",
    "WINDOW_MS",
    "load_locust_odours",
    "locust_dir",
    "locust_features",
]

#: The folder under the data root.
LOCUST_DIR = ("ephys", "locust20010214")
#: The 10 odour groups (classes, in this order).
ODOURS = ("C3H_1", "C3H_2", "C3H_3", "C3H_4", "C3H_5", "C3H_6", "Citral", "Mint_1", "Octanol_1", "Vanilla_1")
#: Start of the response window within a trial (ms), and its length.
ONSET_MS = 10150.0
WINDOW_MS = 500.0
#: First spikes kept per unit, and the number of units.
K_SPIKES = 3
N_UNITS = 10
N_FOLDS = 5


def locust_dir(data_dir=None):
    """The directory of the locust text files (see the module's docstring); DataMissingError if absent."""
    from ..._files import DATA_ENV, data_root

    path = Path(data_dir).expanduser() if data_dir is not None else data_root(*LOCUST_DIR)
    if not path.is_dir():
        raise DataMissingError(
            f"dataset 'locust': expected the directory of the locust antennal-lobe spike-time files "
            f"(locust20010214_<stimulus>_tetB_u<k>.txt); got {path}, which does not exist. Pass data_dir, or set "
            f"the environment variable {DATA_ENV} to the folder holding ephys/locust20010214/.")
    return path


def locust_features(record, *, onset_ms=ONSET_MS, window_ms=WINDOW_MS, k=K_SPIKES):
    """Per trial the first ``k`` spike latencies of every unit in ``[onset_ms, onset_ms + window_ms)``, coded
    ``1 - latency / window_ms`` (0: no such spike); shape ``(n_trials, n_units * k)``, unit-major."""
    x = np.zeros((record.n_trials, record.n_units, k))
    t = np.asarray(record.times_ms, dtype=np.float64)
    m = (t >= onset_ms) & (t < onset_ms + window_ms)
    tr, un, lat = np.asarray(record.trial_index)[m], np.asarray(record.unit_index)[m], t[m] - onset_ms
    order = np.lexsort((lat, un, tr))
    tr, un, lat = tr[order], un[order], lat[order]
    key = tr * record.n_units + un
    start = np.r_[0, np.flatnonzero(np.diff(key)) + 1]
    rank = np.arange(key.size) - np.repeat(start, np.diff(np.r_[start, key.size]))
    keep = rank < k
    x[tr[keep], un[keep], rank[keep]] = 1.0 - lat[keep] / window_ms
    return x.reshape(record.n_trials, -1)


@lru_cache(maxsize=4)
def _all_odour_trials(path):
    from ...adapters.spiketimes_text import load_locust

    rec = load_locust(path)
    stim = np.asarray(rec.trials.columns["stimulus"])
    x = locust_features(rec)
    keep = np.isin(stim, ODOURS)
    y = np.array([ODOURS.index(s) for s in stim[keep]], dtype=np.int64)
    return x[keep], y


def load_locust_odours(split="all", *, seed=0, data_dir=None):
    """The odour trials as :class:`LabelledData` (``name`` "locust"): ``"all"``, or the ``"train"`` /
    ``"test"`` side of fold ``seed % 5`` of a stratified 5-fold split permuted with ``seed // 5``."""
    if split not in ("all", "train", "test"):
        raise input_error("split", "one of ['all', 'train', 'test']", repr(split))
    x, y = _all_odour_trials(str(locust_dir(data_dir)))
    data = LabelledData(x.copy(), y.copy(), len(ODOURS), "locust", "all", ODOURS)
    if split == "all":
        return data
    rng = np.random.default_rng([20010214, int(seed) // N_FOLDS])
    test = np.zeros(len(data), dtype=bool)
    for c in range(len(ODOURS)):
        idx = rng.permutation(np.flatnonzero(y == c))
        test[np.array_split(idx, N_FOLDS)[int(seed) % N_FOLDS]] = True
    return data.subset(np.flatnonzero(test if split == "test" else ~test), split=split)
