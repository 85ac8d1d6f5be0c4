"""NWB files through pynwb directly (neo's NWBIO drops annotations and fails on third-party files).

:func:`read_nwb` reads any NWB file (units, trials from an intervals table, event-aligned windows or the
session; see :mod:`.read` and :mod:`.windows`); :func:`write_nwb` writes a record on its own clock, with the
exact trial-relative times stored so that files of this package round-trip bit for bit (see :mod:`.write`).
:mod:`._common` holds the column conventions and the lookup of objects in a file.
"""

from ._common import EXACT_TIME, EXACT_TRIAL, FILE_FIELDS, LABEL_COLUMNS, NWB_LAYOUT, POPULATION_COLUMNS
from .read import read_nwb
from .write import write_nwb

__all__ = ["write_nwb", "read_nwb", "LABEL_COLUMNS", "POPULATION_COLUMNS", "FILE_FIELDS", "NWB_LAYOUT",
           "EXACT_TRIAL", "EXACT_TIME"]
