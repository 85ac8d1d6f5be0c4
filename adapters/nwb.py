"""NWB files as published on DANDI, read with pynwb: units, trials with all their columns, events.

Tested on DANDI:000006 (Economo et al. 2018, mouse ALM, delayed-response licking): one unit per
session, trials with ``stop_time`` all NaN (each trial then ends where the next starts, see
:func:`synsem_ephys.export.nwb.read_nwb`), string columns ``type`` (lick left / lick right) and
``response``, and lick times as ``BehavioralEvents``. ``neo.io.NWBIO`` fails on these files, hence pynwb.
"""

from synsem_ephys.export.nwb import read_nwb

from ._common import import_optional, require_path

__all__ = ["load_nwb"]

#: Trials columns tried, in order, as the class label when ``label_column="auto"``.
LABEL_COLUMNS = ("type", "trial_type", "condition", "stimulus", "label")


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
    import_optional("pynwb", "pynwb")
    path = require_path(path, "NWB")
    if label_column == "auto" or population_column == "auto":
        lab, pop = _auto_columns(path)
        label_column = lab if label_column == "auto" else label_column
        population_column = pop if population_column == "auto" else population_column
    return read_nwb(path, label_column=label_column, population_column=population_column, events=events)


def _auto_columns(path):
    import pynwb

    from synsem_ephys.errors import DataFormatError, input_error

    try:
        with pynwb.NWBHDF5IO(str(path), "r", load_namespaces=True) as io:
            nwb = io.read()
            tcols = set(nwb.trials.colnames) if nwb.trials is not None else set()
            ucols = set(nwb.units.colnames) if nwb.units is not None else set()
    except Exception as exc:
        raise input_error("path", "an NWB (HDF5) file", f"{path} ({type(exc).__name__}: {exc})",
                          cls=DataFormatError) from exc
    label = next((c for c in LABEL_COLUMNS if c in tcols), None)
    return label, ("cell_type" if "cell_type" in ucols else None)
