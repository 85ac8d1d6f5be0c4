"""Files: atomic writes and their faults (:mod:`.atomic`), calls in a child process (:mod:`.isolated`), checked
opening, JSON, checksums, the data root and the environment (:mod:`.content`). Everything is importable from
here, as before the split: ``from synsem_ephys._files import write_atomic``.
"""

from .atomic import (STALE_TEMP_S, atomic_path, disk_full_error, free_bytes, remove_stale_temps, write_atomic,
                     write_path_atomic, write_text_atomic)
from .content import (DATA_ENV, KNOWN_ENV, MNIST_ENV, data_root, environment_problems, existing_file, json_dumps,
                      payload_sha256, to_jsonable)
from .isolated import _FORK_OK, ChildProcessDied, call_isolated, read_isolated

__all__ = ["write_atomic", "write_text_atomic", "write_path_atomic", "atomic_path", "remove_stale_temps",
           "free_bytes", "disk_full_error", "call_isolated", "ChildProcessDied", "existing_file", "payload_sha256",
           "to_jsonable", "json_dumps", "DATA_ENV", "MNIST_ENV", "KNOWN_ENV", "STALE_TEMP_S", "data_root",
           "environment_problems", "read_isolated", "_FORK_OK"]
