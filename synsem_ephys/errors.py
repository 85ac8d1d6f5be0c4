"""Exceptions of synsem_ephys.

Every error says which argument was wrong, what was expected, what was received and how to fix it.
The classes derive from the built-in exception a caller would already catch (ValueError, FileNotFoundError,
OSError).
"""

__all__ = ["SynsemError", "SpecError", "ConfigError", "DataMissingError", "DataFormatError", "WriteError",
           "DiskFullError", "input_error"]


class SynsemError(Exception):
    """Base class of all synsem_ephys errors."""


class SpecError(SynsemError, ValueError):
    """A network or neuron specification is invalid."""


class ConfigError(SynsemError, ValueError):
    """A training configuration is invalid."""


class DataMissingError(SynsemError, FileNotFoundError):
    """A data file or directory that the caller asked for does not exist."""


class DataFormatError(SynsemError, ValueError):
    """A file exists but is not what it claims to be (wrong magic number, truncated, bad layout, checksum)."""


class WriteError(SynsemError, OSError):
    """A file could not be written: permission denied, read-only file system, the target is a directory.

    ``errno`` and ``filename`` are those of the operating system's error where there was one; the previous
    file at the target (if any) is left as it was and no temporary file is left behind.
    """


class DiskFullError(WriteError):
    """A file could not be written because its file system is full (``errno`` ENOSPC or EDQUOT).

    The message names the file and the free space; the previous file is intact.
    """


def input_error(argument, expected, got, fix=None, cls=ValueError):
    """Build an exception with the project's message shape.

    Parameters
    ----------
    argument : str
        Name of the offending argument.
    expected : str
        What was expected.
    got : object
        What was received (formatted with ``str``).
    fix : str, optional
        How to fix it.
    cls : type
        Exception class to instantiate.

    The exception carries ``argument`` as its attribute of that name, so that a caller can tell an error in
    an argument it passed from one raised deeper down (e.g. by a record check on a damaged file's contents).
    """
    msg = f"{argument}: expected {expected}; got {got}."
    if fix:
        msg += f" {fix}"
    exc = cls(msg)
    exc.argument = argument
    return exc
