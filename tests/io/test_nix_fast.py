"""The direct h5py NIX writer and reader (io/_nix_h5.py): plain neo.io.NixIO reads our files into the same Block
as our reader, our reader reads neo's files as neo does, other Blocks go through neo, the checksum catches
changed data and files without it still read."""

import datetime

import h5py
import neo
import numpy as np
import pytest
import quantities as pq
from neo.io import NixIO

from helpers import assert_records_equal, sim_record
from synsem_ephys.errors import DataFormatError
from synsem_ephys.io import read_nix, read_nix_record, to_block, write_nix
from synsem_ephys.io import _nix_h5
from synsem_ephys.record import EventTimes, SpikeRecord, TrialTable, UnitTable


def facts(x):
    """Everything a Block says, as comparable plain values (type, dtype and unit included)."""
    if isinstance(x, pq.Quantity):
        return ("Q", str(x.dimensionality), facts(np.asarray(x.magnitude)))
    if isinstance(x, np.ndarray):  # bit for bit (NaN equals NaN)
        return ("A", x.dtype.str, x.shape, x.tolist() if x.dtype.kind in "OUS" else x.tobytes())
    if isinstance(x, np.generic):
        return ("N", type(x).__name__, np.asarray(x).tobytes())
    if isinstance(x, dict):
        return ("D", sorted((k, facts(v)) for k, v in x.items()))
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [facts(v) for v in x])
    return (type(x).__name__, x)


def obj_facts(o):
    ann = {k: v for k, v in o.annotations.items() if k != "nix_name"}  # a generated id, different per file
    out = {"name": o.name, "description": o.description, "annotations": facts(ann)}
    if hasattr(o, "array_annotations"):
        out["array_annotations"] = facts(dict(o.array_annotations))
    for att in ("times", "durations", "labels", "t_start", "t_stop"):
        if hasattr(o, att):
            out[att] = facts(getattr(o, att))
    return out


def block_facts(b, stamps=True):
    """``stamps=False``: without the recording times, which a file holds as its creation time when the Block
    had none (two files written a second apart differ there)."""
    return {"block": obj_facts(b), "rec_datetime": b.rec_datetime if stamps else None,
            "segments": [dict(obj_facts(s), rec_datetime=s.rec_datetime if stamps else None,
                              spiketrains=[obj_facts(x) for x in s.spiketrains], events=[obj_facts(x) for x in s.events],
                              epochs=[obj_facts(x) for x in s.epochs]) for s in b.segments],
            "groups": [dict(obj_facts(g), members=[x.name for x in g.spiketrains]) for g in b.groups]}


def neo_read(path):
    with NixIO(str(path), mode="ro") as io:
        return io.read_all_blocks()


def rich_record(n_units=12):
    units = UnitTable([f"u{i}" for i in range(n_units)], ["V1"] * (n_units // 2) + ["LGN"] * (n_units - n_units // 2),
                      [1] * (n_units // 2) + [0] * (n_units - n_units // 2), ["E", "I"] * (n_units // 2),
                      list(range(n_units)), list(range(100, 100 + n_units)),
                      columns={"depth_um": np.linspace(10, 40, n_units), "quality": ["good", "mua"] * (n_units // 2)})
    trials = TrialTable([1, 0, -1], [1, 1, -1], [3.5, np.inf, np.inf], label_names=("left", "right"),
                        columns={"stimulus": ["x", "y", "z"], "stimulus_onset_ms": [1.0, np.nan, 2.0]})
    rng = np.random.default_rng(0)
    n = 60
    u = rng.integers(0, n_units - 1, n)  # the last unit stays silent
    return SpikeRecord(rng.uniform(0, 39, n), u, rng.integers(0, 3, n), units, trials, 40.0,
                       {"source": "hand", "seed": 7, "note": [1, 2]}, {"lick": EventTimes([3.0, 20.0], [0, 1])})


def annotated_block():
    """A Block whose annotations take every kind of value neo's NixIO stores."""
    b = neo.Block(name="b", description="d", rec_datetime=datetime.datetime(2024, 5, 6, 7, 8, 9),
                  i=3, f=2.5, t=True, s="x", empty="", strs=["a", "b"], one=["a"], nums=(1, 2), none_list=[],
                  arr=np.arange(3), farr=np.array([0.5, 1.5]), q=3.0 * pq.s, qarr=[1, 2] * pq.mV,
                  when=datetime.datetime(2020, 1, 2, 3, 4, 5, 6), day=datetime.date(2020, 1, 2),
                  np_i=np.int32(4), np_f=np.float32(0.25), np_b=np.bool_(False))
    seg = neo.Segment(name="s", description=None, k=1)
    b.segments.append(seg)
    for i in range(10):
        seg.spiketrains.append(neo.SpikeTrain(np.sort(np.arange(i) * 1.5) * pq.s, t_stop=20 * pq.s, name=f"st{i}",
                                              pop="A" if i < 5 else "B", idx=i, flag=bool(i % 2),
                                              array_annotations={"k": np.arange(i), "w": np.arange(i) * 0.5,
                                                                 "lab": np.array(["p"] * i)}))
    seg.events.append(neo.Event(np.array([1.0, 2.0]) * pq.ms, labels=np.array(["a", "bb"]), name="ev",
                                array_annotations={"n": np.array([4, 5])}))
    seg.epochs.append(neo.Epoch(np.array([0.0]) * pq.s, durations=np.array([3.0]) * pq.s, labels=np.array(["e"]),
                                name="ep", description="epoch"))
    seg.epochs.append(neo.Epoch(np.array([0.0, 1.0]) * pq.s, durations=np.array([3.0, 1.0]) * pq.s, name="nolabels"))
    b.groups.append(neo.Group(objects=seg.spiketrains[:4], name="g1", kind="first"))
    b.groups.append(neo.Group(objects=seg.spiketrains[4:] + seg.events, name="g2"))
    b.check_relationships()
    return b


@pytest.mark.parametrize("make", ["record", "sim", "annotated"])
def test_plain_neo_reads_our_files_as_our_reader_does_and_as_neo_writes_them(tmp_path, make):
    if make == "annotated":
        block = annotated_block()
    else:
        block = to_block(rich_record() if make == "record" else sim_record(n_trials=3)[0])
    ours = tmp_path / "ours.nix"
    _nix_h5.write_block(block, ours)
    with NixIO(str(tmp_path / "neo.nix"), mode="ow") as io:
        io.write_block(block)
    plain_of_ours = neo_read(ours)
    assert [block_facts(b) for b in _nix_h5.read_blocks(ours)] == [block_facts(b) for b in plain_of_ours]
    # the same Block as neo's own file holds (the order of annotations aside: shared ones come last)
    plain_of_neo = neo_read(tmp_path / "neo.nix")
    assert [block_facts(b, False) for b in plain_of_ours] == [block_facts(b, False) for b in plain_of_neo]
    assert plain_of_ours[0].rec_datetime == plain_of_neo[0].rec_datetime or block.rec_datetime is None
    # and our reader reads neo's file as neo does
    assert [block_facts(b) for b in _nix_h5.read_blocks(tmp_path / "neo.nix")] == [block_facts(b) for b in plain_of_neo]


def test_shared_annotations_are_stored_once_and_read_as_each_trains_own(tmp_path):
    rec = rich_record(n_units=40)  # 2 populations, layers and cell types: one shared section per combination
    path = write_nix(rec, tmp_path / "r.nix")
    with h5py.File(path, "r") as f:
        blk = f["data"][list(f["data"])[0]]
        seg = blk["groups"][[k for k in blk["groups"] if "segment" in k][0]]
        tags = [seg["multi_tags"][k] for k in seg["multi_tags"]]
        trains = [mt for mt in tags if mt.attrs["type"] == "neo.spiketrain"]
        assert len(trains) == rec.n_units
        assert all("link" in mt["metadata"] for mt in trains)
        own = set(trains[0]["metadata"]["properties"])
        assert {"source_index", "channel_id", "trial"} <= own and not own & {"t_start", "layer", "cell_type"}
        shared = trains[0]["metadata"]["link"]
        assert {"layer", "cell_type", "source_population"} <= set(shared["properties"])  # and the unit column quality
        assert set(shared["link"]["properties"]) == {"t_start", "t_stop"}
        assert len({h5py.h5o.get_info(mt["metadata"]["link"].id).addr for mt in trains}) == 2 * 2
    for st, back in zip(to_block(rec).segments[0].spiketrains, neo_read(path)[0].segments[0].spiketrains):
        assert {k: st.annotations[k] for k in st.annotations} == {k: back.annotations[k] for k in st.annotations}
        assert back.t_start == st.t_start and back.t_stop == st.t_stop


def test_record_round_trip_through_the_fast_path(tmp_path):
    rec = rich_record()
    assert_records_equal(rec, read_nix_record(write_nix(rec, tmp_path / "r.nix")), atol=1e-12, rtol=1e-15)


def test_blocks_with_signals_go_through_neo_and_keep_them(tmp_path):
    block = to_block(rich_record())
    sig = neo.AnalogSignal(np.arange(12.0).reshape(6, 2) * pq.mV, sampling_rate=1 * pq.kHz, name="lfp", depth=3)
    block.segments[0].analogsignals.append(sig)
    block.check_relationships()
    with pytest.raises(_nix_h5.Unsupported):
        _nix_h5.write_block(block, tmp_path / "x.nix")
    back = read_nix(write_nix(block, tmp_path / "sig.nix"))
    (got,) = back.segments[0].analogsignals
    np.testing.assert_array_equal(got.magnitude, sig.magnitude)
    assert got.name == "lfp" and got.annotations["depth"] == 3
    assert len(back.segments[0].spiketrains) == len(block.segments[0].spiketrains)
    with h5py.File(tmp_path / "sig.nix", "r") as f:
        assert _nix_h5.CHECKSUM_SECTION not in f["metadata"]  # neo's file: no checksum, read without one


def _spike_time_dataset(f):
    blk = f["data"][list(f["data"])[0]]
    for name in blk["data_arrays"]:
        if name.startswith("neo.spiketrain.") and blk["data_arrays"][name]["data"].shape[0] > 1:
            return blk["data_arrays"][name]["data"]
    raise AssertionError("no spike train with two spikes")


def test_a_changed_value_is_a_data_format_error_naming_the_file(tmp_path):
    rec = rich_record()
    path = write_nix(rec, tmp_path / "r.nix")
    with h5py.File(path, "r+") as f:
        ds = _spike_time_dataset(f)
        v = ds[...]
        v[1] = np.nextafter(v[1], np.inf)  # one ulp: a flipped low bit
        ds[...] = v
    for read in (read_nix, read_nix_record):
        with pytest.raises(DataFormatError, match=r"r\.nix.*checksum|checksum.*r\.nix"):
            read(path)
    # without the checksum section (an older file, another tool's) the same file reads, changed value and all
    with h5py.File(path, "r+") as f:
        del f["metadata"][_nix_h5.CHECKSUM_SECTION]
    back = read_nix_record(path)
    assert back.n_spikes == rec.n_spikes


def test_a_changed_annotation_and_a_changed_structure_are_detected(tmp_path):
    path = write_nix(rich_record(), tmp_path / "r.nix")
    with h5py.File(path, "r+") as f:
        blk = f["data"][list(f["data"])[0]]
        props = blk["metadata"]["properties"]
        props["seed"][0] = 8
    with pytest.raises(DataFormatError, match="checksum"):
        read_nix(path)
    path = write_nix(rich_record(), tmp_path / "s.nix")
    with h5py.File(path, "r+") as f:
        blk = f["data"][list(f["data"])[0]]
        name = next(k for k in blk["multi_tags"] if k.startswith("neo.spiketrain"))
        blk["multi_tags"][name].attrs["type"] = "neo.spiketraim"
    with pytest.raises(DataFormatError, match=r"s\.nix"):
        read_nix(path)


def test_files_of_neo_read_through_the_fast_reader_without_a_checksum(tmp_path):
    rec = rich_record()
    with NixIO(str(tmp_path / "neo.nix"), mode="ow") as io:
        io.write_block(to_block(rec))
    assert_records_equal(rec, read_nix_record(tmp_path / "neo.nix"), atol=1e-12, rtol=1e-15)


def test_encode_value_follows_neo_for_values_it_cannot_store():
    for bad in (None, {"a": 1}, [1, "a"], np.zeros((2, 2)), [[1, 2]], object()):
        with pytest.raises(_nix_h5.Unsupported):
            _nix_h5.encode_value(bad)
    assert _nix_h5.encode_value("")[1] == [] and _nix_h5.encode_value([])[3] == "EMPTYLIST"
    kind, values, unit, _ = _nix_h5.encode_value(np.array([1, 2], dtype=np.uint8))
    assert kind == "i" and values.dtype == np.int64 and unit is None
    assert _nix_h5.encode_value(np.array([1.0, 2.0]) * pq.ms)[2] == "ms"


def test_nixio_validates_our_files_as_neos_and_reads_both_storage_layouts(tmp_path):
    """Our files leave out nixio's updated_at (per-object entities) and created_at / updated_at (properties) and
    store datasets compact or contiguous, not chunked: nixio's validator finds no error neo's own file lacks, and
    a SpikeTrain above the compact size (contiguous) reads the same through plain neo."""
    import nixio

    block = to_block(rich_record())
    long = neo.SpikeTrain(np.arange(3000) * 0.01 * pq.ms, t_stop=40 * pq.ms, name="long", idx=99,
                          array_annotations={"k": np.arange(3000)})
    block.segments[0].spiketrains.append(long)
    block.check_relationships()
    _nix_h5.write_block(block, tmp_path / "ours.nix")
    with NixIO(str(tmp_path / "neo.nix"), mode="ow") as io:
        io.write_block(block)
    errors = {}
    for name in ("ours", "neo"):
        f = nixio.File.open(str(tmp_path / f"{name}.nix"), nixio.FileMode.ReadOnly)
        try:
            errors[name] = {str(e) for v in f.validate()["errors"].values() for e in v}
        finally:
            f.close()
    assert errors["ours"] <= errors["neo"]
    with h5py.File(tmp_path / "ours.nix", "r") as f:
        layouts = set()
        f.visititems(lambda _, o: layouts.add(o.id.get_create_plist().get_layout())
                     if isinstance(o, h5py.Dataset) else None)
        assert layouts == {h5py.h5d.COMPACT, h5py.h5d.CONTIGUOUS}
    (back,) = [st for st in neo_read(tmp_path / "ours.nix")[0].segments[0].spiketrains if st.name == "long"]
    np.testing.assert_array_equal(back.magnitude, long.magnitude)
    np.testing.assert_array_equal(back.array_annotations["k"], np.arange(3000))


@pytest.mark.parametrize("make", ["record", "sim"])
def test_a_record_is_written_straight_into_the_file_its_block_makes(tmp_path, monkeypatch, make):
    """write_nix of a record skips neo's objects (io.canonical -> _nix_h5.direct) and writes the same file as the
    Block path: the same payload checksum (every property, array and label in order) and the same Block for neo."""
    import nixio.util

    monkeypatch.setattr(nixio.util, "now_int", lambda: 1_700_000_000)  # the files' creation stamps are hashed
    rec = rich_record(n_units=40) if make == "record" else sim_record(n_trials=3)[0]
    _nix_h5.write_block(to_block(rec), tmp_path / "block.nix")
    direct = write_nix(rec, tmp_path / "direct.nix")

    def stored(path):
        with h5py.File(path, "r") as f:
            return f["metadata"][_nix_h5.CHECKSUM_SECTION]["properties"]["payload_sha256"][0]

    assert stored(direct) == stored(tmp_path / "block.nix")
    assert [block_facts(b) for b in neo_read(direct)] == [block_facts(b) for b in neo_read(tmp_path / "block.nix")]
    assert_records_equal(rec, read_nix_record(direct), atol=0, rtol=0)


def test_hdf5_through_its_c_api_and_through_h5py_write_the_same_file(tmp_path, monkeypatch):
    """The writer's HDF5 calls go through HDF5's C API (ctypes, on h5py's own libhdf5) where it is reachable,
    else through h5py: the two files hold the same payload and neo reads the same Block from both."""
    import nixio.util

    from synsem_ephys.io import canonical
    from synsem_ephys.io._nix_h5 import hdf5

    if hdf5._library() is None:
        pytest.skip("HDF5's C API is not reachable here: the writer uses h5py")
    monkeypatch.setattr(nixio.util, "now_int", lambda: 1_700_000_000)
    rec = rich_record(n_units=40)
    for backend in ("capi", "h5py"):
        _nix_h5.write_plan(_nix_h5.plan_of_canonical(canonical.canonical_block(rec)), tmp_path / f"{backend}.nix",
                           backend)
    digests = []
    for backend in ("capi", "h5py"):
        with h5py.File(tmp_path / f"{backend}.nix", "r") as f:
            digests.append(f["metadata"][_nix_h5.CHECKSUM_SECTION]["properties"]["payload_sha256"][0])
    assert digests[0] == digests[1]
    assert [block_facts(b) for b in neo_read(tmp_path / "capi.nix")] == \
        [block_facts(b) for b in neo_read(tmp_path / "h5py.nix")]


@pytest.mark.parametrize("writer", ["ours", "neo"])
def test_a_record_is_read_straight_from_the_file_as_from_block_reads_its_block(tmp_path, writer):
    """read_nix_record takes the values the reader read straight into the record (io/_nix_record.py), without
    neo objects: the same record, array for array and dtype for dtype, as from_block(read_nix(path))."""
    from synsem_ephys.io import from_block, nix

    rec = rich_record(n_units=40)
    path = tmp_path / "r.nix"
    if writer == "ours":
        write_nix(rec, path)
    else:
        with NixIO(str(path), mode="ow") as io:
            io.write_block(to_block(rec))
    direct, via = nix._read_record(path, 0), from_block(read_nix(path))
    for name in ("times_ms", "unit_index", "trial_index"):
        a, b = getattr(direct, name), getattr(via, name)
        assert a.dtype == b.dtype and a.tobytes() == b.tobytes()
    assert_records_equal(direct, via)
    for table in ("units", "trials"):
        for k, v in vars(getattr(via, table)).items():
            if isinstance(v, np.ndarray):
                assert getattr(getattr(direct, table), k).dtype == v.dtype, (table, k)
    assert_records_equal(rec, direct, atol=0, rtol=0)


def test_a_spike_outside_its_train_is_refused_without_neo_as_neo_refuses_it(tmp_path):
    path = write_nix(rich_record(), tmp_path / "r.nix")
    with h5py.File(path, "r+") as f:
        del f["metadata"][_nix_h5.CHECKSUM_SECTION]
        ds = _spike_time_dataset(f)
        v = ds[...]
        v[-1] = 1e9  # after t_stop
        ds[...] = v
    for read in (read_nix, read_nix_record):
        with pytest.raises(DataFormatError, match=r"r\.nix"):
            read(path)


@pytest.mark.parametrize("make", ["record", "annotated"])
def test_hdf5_read_through_its_c_api_and_through_h5py_gives_the_same_blocks(tmp_path, make):
    """The reader's HDF5 calls go through HDF5's C API where it is reachable, else (and for values it does not
    convert) through h5py: the same Blocks and the same payload digest, for our files and neo's."""
    from synsem_ephys.io._nix_h5 import hdf5_read, reader

    if hdf5_read._reader_library() is None:
        pytest.skip("HDF5's C API is not reachable here: the reader uses h5py")
    block = annotated_block() if make == "annotated" else to_block(rich_record(n_units=40))
    _nix_h5.write_block(block, tmp_path / "ours.nix")
    with NixIO(str(tmp_path / "neo.nix"), mode="ow") as io:
        io.write_block(block)
    for name in ("ours", "neo"):
        got = {}
        for backend in ("capi", "h5py"):
            r = reader._Reader(tmp_path / f"{name}.nix", backend)
            try:
                blocks = r.blocks()
                got[backend] = ([block_facts(reader.to_neo(b)) for b in blocks], r.digest.hexdigest())
            finally:
                r.close()
        assert got["capi"] == got["h5py"], name


def test_a_fixed_length_string_is_read_through_neo_as_before(tmp_path):
    """Fixed-length string attributes (neither nixio nor this writer makes them): HDF5's C API path hands the file
    to h5py's, which does not read them either, so without a checksum neo's NixIO reads it, the same Block."""
    path = write_nix(rich_record(), tmp_path / "r.nix")
    expected = block_facts(read_nix(path))
    with h5py.File(path, "r+") as f:
        del f["metadata"][_nix_h5.CHECKSUM_SECTION]
        blk = f["data"][next(iter(f["data"]))]
        blk.attrs.create("type", np.bytes_(b"neo.block"))
    with pytest.raises(_nix_h5.Unsupported):
        _nix_h5.read_blocks(path)
    assert block_facts(read_nix(path)) == expected


def test_the_batched_digest_is_the_digest_of_one_update_per_field():
    """_Digest hashes its fields in batches: the same SHA-256 as the byte stream of one field at a time (files
    written before the batching keep verifying)."""
    import hashlib

    from synsem_ephys.io._nix_h5.values import _Digest

    def text(s):
        b = b"\xff" if s is None else s.encode("utf-8", "surrogatepass")
        return b"s%d:" % len(b) + b

    big = np.arange(20_000, dtype=np.int64)
    d, ref = _Digest(), hashlib.sha256()
    for k in range(5000):
        d.prop(f"p{k}", "f", np.array([k * 0.5]), "ms" if k % 2 else None, None, None)
        for s in (f"p{k}", "f", "ms" if k % 2 else None, None, None):
            ref.update(text(s))
        ref.update(b"f1:" + np.array([k * 0.5], "<f8").tobytes())
    d.values("s", ["a", "é"])
    ref.update(b"S2:" + text("a") + text("é"))
    d.values("i", big)
    ref.update(b"i20000:" + big.astype("<i8").tobytes())
    d.values("b", np.zeros(0, bool))
    ref.update(b"b0:")
    assert d.hexdigest() == ref.hexdigest()


def test_a_write_that_fails_midway_closes_the_file_so_it_can_be_written_again(tmp_path):
    """The C-API writer closes every HDF5 id it opened when a write stops midway (an object named twice is only
    found while writing): the same path is written again at once, as write_nix's fallback to neo does."""
    block = to_block(rich_record())
    block.segments[0].spiketrains[3].annotations["nix_name"] = "twice"
    block.segments[0].spiketrains[5].annotations["nix_name"] = "twice"
    with pytest.raises(_nix_h5.Unsupported, match="twice"):
        _nix_h5.write_block(block, tmp_path / "x.nix")
    _nix_h5.write_block(to_block(rich_record()), tmp_path / "x.nix")
    assert len(read_nix(tmp_path / "x.nix").segments[0].spiketrains) == 12
