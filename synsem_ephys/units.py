"""The one conversion between plain float milliseconds and ``quantities``, and between seconds and ms.

Inside the package times are plain floats in milliseconds whose names end in ``_ms``; quantities
appear only at the Neo boundary, through these two functions.
"""

import threading
from contextlib import contextmanager

import numpy as np

__all__ = ["to_quantity_ms", "to_float_ms", "ms_from_s", "s_from_ms", "MS_PER_S", "quantities_lookups_cached"]

#: Milliseconds per second: the one place where seconds and milliseconds meet.
MS_PER_S = 1000.0


def ms_from_s(seconds):
    """Seconds (float or array) as float milliseconds (numpy float64 for arrays)."""
    return np.asarray(seconds, dtype=float) * MS_PER_S if np.ndim(seconds) else float(seconds) * MS_PER_S


def s_from_ms(milliseconds):
    """Milliseconds (float or array) as float seconds (numpy float64 for arrays)."""
    return np.asarray(milliseconds, dtype=float) / MS_PER_S if np.ndim(milliseconds) else float(milliseconds) / MS_PER_S


def to_quantity_ms(values_ms):
    """Return ``values_ms`` (float or array, milliseconds) as a ``quantities`` array in ms."""
    import quantities as pq

    return np.asarray(values_ms, dtype=float) * pq.ms


def to_float_ms(quantity):
    """Return a ``quantities`` time (any time unit) as plain float milliseconds (numpy array or float).

    Raises
    ------
    ValueError
        If ``quantity`` carries no unit or a unit that is not a time.
    """
    import quantities as pq

    if not isinstance(quantity, pq.Quantity):
        raise ValueError(
            f"quantity: expected a quantities.Quantity with a time unit; got {type(quantity).__name__}. "
            "Multiply by quantities.ms or quantities.s."
        )
    try:
        out = quantity.rescale(pq.ms).magnitude
    except ValueError as exc:
        raise ValueError(
            f"quantity: expected a time unit (s, ms, ...); got {quantity.dimensionality}."
        ) from exc
    return float(out) if np.ndim(out) == 0 else np.asarray(out, dtype=float)


class _CachedRegistry:
    """``quantities``' unit registry with its string lookups remembered (the registry only grows)."""

    def __init__(self, registry):
        self._registry = registry
        self._found = {}

    def __getitem__(self, label):
        try:
            return self._found[label]
        except (KeyError, TypeError):
            pass
        value = self._registry[label]
        if isinstance(label, str):
            self._found[label] = value
        return value

    def __getattr__(self, name):
        return getattr(self._registry, name)


_CACHE_LOCK = threading.Lock()
_CACHE_STATE = {"depth": 0, "saved": None}


@contextmanager
def quantities_lookups_cached():
    """Inside this block, ``quantities`` parses each unit string once instead of on every use.

    ``quantities`` (0.16) looks units up by string with ``ast.parse`` + ``compile`` on every comparison of two
    units (``Dimensionality.__hash__`` looks up ``'dimensionless'``) and on every ``Quantity`` created
    (``'UnitQuantity'``): ~20-40 us each, most of the cost of building and checking thousands of neo objects
    (Elephant's input checks, SpikeTrains). The block replaces the registry seen by ``quantities.dimensionality``
    and ``quantities.quantity`` with one that remembers what each string gave and restores it on exit (nested
    and concurrent blocks share one replacement). Results are unchanged: a unit, once registered, cannot be
    registered again with another value, so a string always gives the same object.
    """
    import quantities.dimensionality as qd
    import quantities.quantity as qq

    if not (hasattr(qd, "unit_registry") and hasattr(qq, "unit_registry")):  # another quantities: no cache, same results
        yield
        return
    with _CACHE_LOCK:
        if _CACHE_STATE["depth"] == 0:
            _CACHE_STATE["saved"] = (qd.unit_registry, qq.unit_registry)
            cached = _CachedRegistry(qd.unit_registry)
            qd.unit_registry = qq.unit_registry = cached
        _CACHE_STATE["depth"] += 1
    try:
        yield
    finally:
        with _CACHE_LOCK:
            _CACHE_STATE["depth"] -= 1
            if _CACHE_STATE["depth"] == 0:
                qd.unit_registry, qq.unit_registry = _CACHE_STATE["saved"]
                _CACHE_STATE["saved"] = None
