"""The one conversion between plain float milliseconds and ``quantities``, and between seconds and ms.

Inside the package times are plain floats in milliseconds whose names end in ``_ms``; quantities
appear only at the Neo boundary, through these two functions.
"""

import numpy as np

__all__ = ["to_quantity_ms", "to_float_ms", "ms_from_s", "s_from_ms", "MS_PER_S"]

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
