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


@pytest.fixture(autouse=True, scope="session")
def _one_torch_thread():
    """One torch thread for the whole run: the suite's layers are tiny, and on a shared 2-core machine two
    OpenMP threads spin 10-20x slower. Tests that measure threads set them themselves."""
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a core dependency
        yield
        return
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


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
