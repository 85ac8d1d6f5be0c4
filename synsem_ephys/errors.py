"""Exceptions of synsem_ephys.

Every error says which argument was wrong, what was expected, what was received and how to fix it.
The classes derive from the built-in exception a caller would already catch (ValueError, FileNotFoundError).
"""

__all__ = ["SynsemError", "SpecError", "ConfigError", "DataMissingError", "DataFormatError", "input_error"]


class SynsemError(Exception):
    """Base class of all synsem_ephys errors."""


class SpecError(SynsemError, ValueError):
    """A network or neuron specification is invalid."""


class ConfigError(SynsemError, ValueError):
    """A training configuration is invalid."""


class DataMissingError(SynsemError, FileNotFoundError):
    """A data file or directory that the caller asked for does not exist."""


class DataFormatError(SynsemError, ValueError):
    """A file exists but is not what it claims to be (wrong magic number, truncated, bad layout)."""


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
    """
    msg = f"{argument}: expected {expected}; got {got}."
    if fix:
        msg += f" {fix}"
    return cls(msg)
