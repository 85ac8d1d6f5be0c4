"""Shared fixtures of the test suite; the tests mirror the package (tests/sim, tests/io, ...).

``helpers.py`` (data location, synthetic records, record comparison) sits beside this file and is
importable from every test folder. Real data is read from ``$SYNSEM_DATA`` (default ``../shared/data``).
"""

import pathlib
import sys

import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

from helpers import sim_record as _sim_record  # noqa: E402
from helpers import small_spec as _small_spec  # noqa: E402


@pytest.fixture
def small_spec():
    """A 6 - (4E+2I) - (3E+1I) - 3 NetworkSpec under Dale's law."""
    return _small_spec()


@pytest.fixture
def sim_record():
    """A simulator-shaped SpikeRecord of 8 trials on :func:`small_spec` (and its dense layer times)."""
    return _sim_record()


@pytest.fixture
def tiny_block(sim_record):
    """The canonical neo.Block of :func:`sim_record`."""
    from synsem_ephys.io import to_block

    return to_block(sim_record[0])
