"""Optional dependencies: which extra of ``pip install synsem-ephys[...]`` brings which package, and the one check.

The core (``numpy``, ``scipy``, ``torch``, ``neo``, ``elephant``, ``quantities``, ``networkx``) runs the
simulator, training on the generated Yin-Yang data, the Neo conversion and every analysis. The extras:

=========  ============================  ===================================================================
extra      packages                      needed for
=========  ============================  ===================================================================
nix        nixio                         NIX files (``io.write_nix`` / ``read_nix``; the demo's recording)
nwb        pynwb                         NWB files (``io.write_nwb`` / ``read_nwb``, ``adapters.nwb``)
report     matplotlib                    the report's figures (``report.write_report``, ``analyze``)
train      pyyaml, tqdm                  YAML configs and progress bars (``synsem-ephys train``)
digits     scikit-learn                  the 8x8 digits dataset (the digits network, its tests)
fast       numba                         the fused exact kernel (``spike_times(backend="numba")``, the default when present)
mpi        mpi4py, mpich                 the MPI executor (``--executor mpi``, ``parallel.make_executor``)
dask       dask[distributed]             the Dask executor (``--executor dask``)
nest       nest-simulator                ``adapters.nest`` (NEST 3 spike recorders)
pynn       PyNN, nest-simulator          ``adapters.pynn`` (PyNN ``get_data()`` Blocks)
snntorch   snntorch                      running snnTorch networks (``adapters.spike_tensor`` itself needs none)
nir        nir                           ``adapters.nir`` (NIR graphs in and out)
pynapple   pynapple                      ``adapters.pynapple`` (TsGroup + IntervalSet, both ways)
spikeinterface spikeinterface            ``adapters.spikeinterface`` (sortings in)
brian2     brian2 (2.9 on 3.11)          ``adapters.brian2``; not in ``all``: on Python 3.11 only Brian2 2.9
                                         installs, which needs numpy < 2.4 (it would cap everyone's numpy)
all        all of the above              everything; the README's two commands install it
=========  ============================  ===================================================================

:func:`require` imports a module or raises ImportError naming the extra to install.
"""

import importlib

__all__ = ["EXTRAS", "require"]

#: importable module -> (extra, PyPI package).
EXTRAS = {
    "nixio": ("nix", "nixio"),
    "pynwb": ("nwb", "pynwb"),
    "matplotlib": ("report", "matplotlib"),
    "yaml": ("train", "pyyaml"),
    "tqdm": ("train", "tqdm"),
    "sklearn": ("digits", "scikit-learn"),
    "numba": ("fast", "numba"),
    "mpi4py": ("mpi", "mpi4py"),
    "distributed": ("dask", "dask[distributed]"),
    "nest": ("nest", "nest-simulator"),
    "pyNN": ("pynn", "PyNN"),
    "snntorch": ("snntorch", "snntorch"),
    "nir": ("nir", "nir"),
    "brian2": ("brian2", "brian2"),
    "pynapple": ("pynapple", "pynapple"),
    "spikeinterface": ("spikeinterface", "spikeinterface"),
}


def require(module, purpose=None):
    """Import ``module`` (a key of :data:`EXTRAS`, or any module) or raise ImportError with an install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        extra, package = EXTRAS.get(module.split(".")[0], (None, module.split(".")[0]))
        hint = f"pip install 'synsem-ephys[{extra}]'" if extra else f"pip install {package}"
        raise ImportError(f"{module}: required{' for ' + purpose if purpose else ''} but not installed; "
                          f"expected the package {package}. Install it with `{hint}` "
                          f"(or `pip install 'synsem-ephys[all]'`).") from exc
