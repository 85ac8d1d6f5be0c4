"""Write tests/data/spikeinterface_export.nwb: a sorting exported to NWB the way SpikeInterface users do it
(neuroconv's ``write_sorting_to_nwbfile``, the exporter SpikeInterface documents for NWB), so that the NWB reader is tested
on a file this project did not write. Run once with neuroconv installed (``pip install neuroconv``); the file is
committed and read by tests/io/test_nwb_standard.py without neuroconv.

    python tests/data/make_spikeinterface_nwb.py
"""

import datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import spikeinterface as si
from neuroconv.tools.spikeinterface import write_sorting_to_nwbfile

OUT = Path(__file__).with_name("spikeinterface_export.nwb")


def main():
    rng = np.random.default_rng(11)
    fs = 30000.0
    n_units, duration_s = 5, 20.0
    units = {f"#{k}": np.sort(rng.choice(int(duration_s * fs), size=int(rng.integers(40, 120)), replace=False))
             for k in range(n_units)}
    sorting = si.NumpySorting.from_unit_dict([units], sampling_frequency=fs)
    sorting.set_property("quality", np.array(["good", "good", "mua", "good", "noise"]))
    sorting.set_property("depth_um", np.array([120.0, 240.0, 360.0, 480.0, 600.0]))
    metadata = {"NWBFile": {"session_description": "a NumpySorting exported with neuroconv's write_sorting_to_nwbfile",
                            "identifier": "spikeinterface-export-test",
                            "session_start_time": datetime.datetime(2024, 5, 6, 7, 8, 9, tzinfo=datetime.timezone.utc)}}
    if OUT.exists():
        OUT.unlink()
    write_sorting_to_nwbfile(sorting, nwbfile_path=OUT, metadata=metadata, overwrite=True)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes) with spikeinterface {si.__version__}, neuroconv {version('neuroconv')}")


if __name__ == "__main__":
    main()
