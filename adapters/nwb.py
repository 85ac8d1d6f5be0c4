"""NWB files as published on DANDI: the source conventions on top of :func:`synsem_ephys.io.nwb.read_nwb`.

Tested on DANDI:000006 (Economo et al. 2018, mouse ALM, delayed-response licking): one unit per
session, trials with ``stop_time`` all NaN (each trial then ends where the next starts, see
:func:`synsem_ephys.io.nwb.read_nwb`), string columns ``type`` (lick left / lick right) and
``response``, and lick times as ``BehavioralEvents``. ``neo.io.NWBIO`` fails on these files, hence pynwb.

The convention this adapter adds: the class label and the population are found automatically
(``label_column="auto"``: the first of :data:`LABEL_COLUMNS` in the trials table; ``population_column="auto"``:
the units column ``cell_type`` if present). The file is opened once.
"""

from synsem_ephys.io.nwb import LABEL_COLUMNS, read_nwb

from ._common import import_optional, require_path

__all__ = ["load_nwb", "LABEL_COLUMNS"]


def load_nwb(path, *, label_column="auto", population_column="auto", events=True):
    """Load an NWB file into a SpikeRecord.

    Parameters
    ----------
    path : str or Path
    label_column : str or None or "auto"
        Trials column giving the class label; "auto" takes the first of :data:`LABEL_COLUMNS` present.
    population_column : str or None or "auto"
        Units column giving the population; "auto" uses ``cell_type`` if present.
    events : bool
        Also read acquisition time series (licks ...) as record events.

    Returns
    -------
    SpikeRecord
        Trial columns of the file kept as they are (seconds where the file uses seconds), plus
        ``duration_ms`` and ``source_start_ms``; unit columns kept (``cell_type`` as ``source_cell_type``).
    """
    import_optional("pynwb", "NWB files")
    path = require_path(path, "NWB")
    return read_nwb(path, label_column=label_column, population_column=population_column, events=events)
