"""One entry point for every recording file a user may have: :func:`read_any`.

NIX and NWB files go to :func:`synsem_ephys.io.read_recording`; spike-time text files (and directories of
them) to :func:`~synsem_ephys.adapters.spiketimes_text.load_spiketimes`. The format comes from the content
(:func:`synsem_ephys.io.files.recording_kind`); a text file's layout (one time per line, or ``time unit``
lines) from its fields unless given.
"""

from synsem_ephys.errors import input_error
from synsem_ephys.io.files import read_recording, recording_kind, text_fields

__all__ = ["read_any"]


def read_any(path, *, time_unit=None, sampling_rate_hz=None, layout=None, delimiter=None, **nwb_options):
    """A SpikeRecord from a NIX, NWB or spike-time text file, or a directory of spike-time text files.

    Parameters
    ----------
    path : str or Path
    time_unit : {"s", "ms", "us", "samples"}, optional
        Required for text (a text file does not state it); refused for NIX and NWB, which do.
    sampling_rate_hz : float, optional
        With ``time_unit="samples"``.
    layout : {"one_unit_per_file", "time_unit_columns"}, optional
        Of a text file; default from its lines (two fields: ``time unit``); a directory: one unit per file.
    delimiter : str, optional
        Field separator of ``time unit`` lines (default white space; a comma for CSV files).
    **nwb_options
        Passed to :func:`synsem_ephys.io.read_recording` (``trials``, ``align``, ``window_ms``, ...).
    """
    kind = recording_kind(path)
    if kind not in ("text", "directory"):
        given = {k: v for k, v in (("time_unit", time_unit), ("sampling_rate_hz", sampling_rate_hz), ("layout", layout),
                                   ("delimiter", delimiter)) if v is not None}
        if given:
            name = next(iter(given))
            raise input_error(name, f"no {name} for a {kind or 'non-text'} file (only spike-time text files need one)",
                              f"{name}={given[name]!r} for {path}")
        return read_recording(path, **nwb_options)
    from .spiketimes_text import load_spiketimes

    if nwb_options:
        raise input_error(sorted(nwb_options)[0], "no NWB reading options for spike-time text",
                          f"{sorted(nwb_options)} for {path}")
    if time_unit is None:
        raise input_error("time_unit", "the unit of the numbers in the spike-time text file: s, ms, us or samples",
                          f"none for {path}", "A text file does not state its time unit: pass it.")
    if layout is None:
        two = kind == "text" and text_fields(path) == 2
        layout = "time_unit_columns" if two else "one_unit_per_file"
    if delimiter is None and layout == "time_unit_columns" and kind == "text":
        delimiter = _delimiter(path)
    return load_spiketimes(path, time_unit=time_unit, sampling_rate_hz=sampling_rate_hz, layout=layout,
                           delimiter=delimiter)


def _delimiter(path):
    """"," or ";" when the first data line of a ``time unit`` text file uses one, else None (white space)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line in fh:
            data = line.split("#", 1)[0].strip()
            if data:
                return next((d for d in (",", ";") if d in data), None)
    return None
