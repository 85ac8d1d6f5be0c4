"""A direct writer and reader of the NIX files that ``neo.io.NixIO`` writes, for the Blocks of this package.

Why: ``neo.io.NixIO`` goes through nixio's object model, which costs ~6 ms of Python per SpikeTrain each way
(about twenty HDF5 objects per train, each looked up, stamped and checked by name): 25 s to write and 26 s
to read the demo recording of 2,394 units. This package creates and reads the same HDF5 objects a few calls
each, so the file is the one neo would write and plain ``neo.io.NixIO`` reads it (tested), and reads such
files back into the same ``neo.Block`` neo's reader builds.

Modules, one concept each: :mod:`.values` (property values as neo stores them, the payload digest),
:mod:`.plan` (what the writer writes, as plain values: of a neo Block), :mod:`.direct` (the same plan of a
record's canonical Block, ``io.canonical``, without neo objects), :mod:`.writer`, :mod:`.reader` (what it
read as plain values, :class:`ReadBlock`, and :func:`to_neo` of them; ``io._nix_record`` takes them straight
into a record), :mod:`.hdf5` / :mod:`.hdf5_read` (the HDF5 calls: through HDF5's C API with ``ctypes`` on
the libhdf5 h5py loaded, ~0.6x the time of h5py's low-level API, else through h5py; the same file either
way, tested).

The layout (nixio 1.5, file format 1.2.1, neo 0.14's mapping of Neo objects)::

    /                           attrs format "nix", version int32 (1, 2, 1), id, created_at, updated_at
    /data/<block>               entity group: attrs name, type, entity_id, created_at, updated_at[, definition]
                                (the per-object entities below, tags, data arrays and their sections: no
                                updated_at)
        metadata                -> /metadata/<block>                                       (hard link)
        groups/<segment>        entity "neo.segment"; metadata -> its section; multi_tags/<tag id> -> the tags
        groups/<group>          entity "neo.group"; metadata; multi_tags/<tag id> -> its SpikeTrains, ...
        data_arrays/<tag>.times entity "neo.spiketrain.times" / "neo.event.times" / "neo.epoch.times" with a
                                dataset "data" and attr unit; events and epochs: dimensions/1 {dimension_type
                                "set"} with a dataset "labels"; epochs also <tag>.durations
        multi_tags/<tag>        entity "neo.spiketrain" / "neo.event" / "neo.epoch": positions [, extents]
                                and metadata (hard links)
    /metadata/neo               section "neo.metadata" with the property version (neo's version)
    /metadata/<block>           the section tree: properties/<name> (1-D datasets, attrs name, entity_id
                                [, unit, definition, type]) and
                                sections/<child section> for segments, groups and their objects
    /metadata/synsem_ephys.checksum   this package's section: payload_sha256 (neo does not read it)

Every group tracks and indexes the creation order of its links, as nixio's do: readers list Segments,
SpikeTrains and properties in creation order.

Where the files differ from nixio's own (for speed; nixio's validator finds no error in them that it does not
find in neo's files, and neo reads the same Block, tested): datasets have a fixed size, stored compact (up to
8 KiB, inside their object header) or contiguous, where nixio makes every dataset chunked and resizable (a
chunk index of ~2 KB each: the demo recording's file 79 -> 49 MB); so these files are for reading, not for
appending to a data array with nixio. The per-object entities (tags, data arrays, their sections) carry no
``updated_at`` and properties no ``created_at`` / ``updated_at``: nixio writes them, neither neo nor nixio's
validator reads them, and each costs ~20 us of HDF5. Properties follow neo's ``_write_property``: numbers as
int64 / float64 / bool, strings as variable-length UTF-8, lists and 1-D arrays element-wise of one type,
scalar quantities with their unit, dates as ISO strings with their kind in ``definition``, empty lists as
an empty string property with definition ``EMPTYLIST``, array annotations with type ``ARRAYANNOTATION``.
The ``nix_name`` annotation is not written as a property (neo sets it from the object's own name).

Handled: Blocks of Segments holding SpikeTrains (without waveforms), Events and Epochs, and Groups of those
objects. Anything else (analog or irregularly sampled signals, image sequences, waveforms, channel views,
nested groups, annotation values neo would not store) raises :class:`Unsupported`, and the caller uses
``neo.io.NixIO`` for the whole Block or file instead.

Checksum: the writer stores the SHA-256 of the payload (every property's name, type, unit, definition and
values, every data array's unit, values and labels, object types, descriptions, Block and Segment times
and Group membership, in reading order) in the section ``synsem_ephys.checksum``; the reader computes the
same digest from what it read and raises :class:`ChecksumMismatch` when they differ. Files without that
section (older files, files of other tools) are read without the check.
"""

from .direct import plan_of_canonical
from .reader import (
                     ReadBlock,
                     ReadGroup,
                     ReadSegment,
                     ReadTag,
                     has_checksum,
                     read_blocks,
                     read_plans,
                     to_neo,
)
from .values import CHECKSUM_SECTION, ChecksumMismatch, Unsupported, encode_value
from .writer import write_block, write_plan

__all__ = ["CHECKSUM_SECTION", "ChecksumMismatch", "ReadBlock", "ReadGroup", "ReadSegment", "ReadTag", "Unsupported",
           "encode_value", "has_checksum", "plan_of_canonical", "read_blocks", "read_plans", "to_neo", "write_block",
           "write_plan"]
