r"""Spatio-temporal structure of excitation and inhibition in a weight matrix with delays (numpy only).

Mészáros, Knight & Nowotny (2024, Front. Comput. Neurosci. 18:1460309) report that after training with learned
delays and rewiring "excitation and inhibition group together in space and time". Their statistic is not
published; the ones below are named definitions of that claim, on one weight matrix ``W`` (``(n_pre, n_post)``,
presynaptic units as rows) with delays ``D`` (same shape, ms; axonal / dendritic delays broadcast; None = no
delays) and presynaptic signs ``s`` (+1 E, -1 I, 0 free). Every statistic is per postsynaptic unit ``j`` over
its *active* synapses (``W_ij != 0``):

* **type** of synapse ``ij``: E if ``s_i > 0``, I if ``s_i < 0``; for a free row (``s_i = 0``) the sign of
  ``W_ij``. Weights ``|W_ij|``.
* **space** ``c_i``: the presynaptic index, or coordinates given (e.g. the pixel column, or for a deeper matrix
  the receptive-field centre of unit ``i``: :func:`receptive_field_centres`).
* **weight x delay map** (:func:`weight_delay_maps`): ``R_j(c, tau) = sum_i W_ij 1[c_i in bin c] 1[D_ij in bin tau]``.
* **centroid offset**: ``mu_E,j = sum_E |W| D / sum_E |W|`` (likewise I) and ``delta_delay_j = mu_I,j - mu_E,j``
  (ms; > 0: inhibition arrives later), defined for units with both E and I synapses; standardised by the
  ``|W|``-weighted SD of the unit's delays; the same in space (``delta_space_j``).
* **same-sign clustering**: Moran's I of the types (+1 / -1) of the unit's active synapses ordered by space
  (``moran_space``) or by delay (``moran_delay``, E/I grouping in time), neighbours = consecutive synapses in
  that order (a chain, binary symmetric weights): ``I = n/(n-1) sum_r z_r z_{r+1} / sum_r z_r^2``, ``z`` the
  types minus their mean, for units with >= 3 active synapses of both types. 1 = all E then all I, about
  ``-1/(n-1)`` for random order. Under Dale's law a hidden layer lists its E units before its I units, so
  ``moran_space`` over the presynaptic index is trivially high there: give ``space`` (receptive-field centres).
* **E vs I delay distributions** (pooled over the matrix, ``|W|``-weighted): means, Wasserstein-1 distance
  ``int |F_E - F_I| dx`` and Kolmogorov-Smirnov distance ``sup |F_E - F_I|`` of the weighted CDFs.
* **delays of a recording**: :func:`record_delays` reads them from a record's provenance (``meta["delays_ms"]``).
* **arrival order** (:func:`arrival_order`, needs spikes): per trial ``b`` and spiking unit ``j`` the causal
  set ``C = {i : W_ij != 0, a_bij = t_bi + D_ij < T_bj}``; ``delta_arrival_bj`` = ``|W|``-weighted mean arrival of
  its I inputs minus that of its E inputs (ms), for pairs with both in ``C``.

Summary statistics: the means over units (over (trial, unit) pairs for the arrival order) of the per-unit values
and the fraction of units with ``delta > 0`` (``frac_inh_later``).

Nulls (permutations, ``n_perm``, ``seed``):

* ``"delay_shuffle"``: the delays of each unit permuted among its active synapses (weights and types kept);
* ``"sign_shuffle"`` (Dale-preserving): the E/I labels of the constrained presynaptic units permuted (as many
  E and I units; magnitudes stay in place); for free rows the types of each unit's active free synapses
  permuted (counts per unit kept);
* the network at initialisation: the same statistics on ``init_weights`` / ``init_delays`` (not a
  permutation; reported beside the others in ``init_summary``).

For each statistic and permutation null a :class:`NullTest` gives the null mean and SD, ``z = (observed -
mean) / SD`` and the permutation p-value ``(1 + #{null at least as extreme}) / (1 + n_perm)``, one-sided
(greater) for clustering and distribution distances, two-sided (distance from the null mean) for offsets and
fractions. For the arrival order the nulls keep the observed postsynaptic spike times (no re-simulation).
"""

from dataclasses import dataclass, field

import numpy as np

from ..errors import input_error

__all__ = ["EIStructure", "ArrivalOrder", "NullTest", "EI_DEFINITIONS", "EI_NULLS", "ei_statistics", "arrival_order",
           "weight_delay_maps", "receptive_field_centres", "synapse_types", "weighted_w1_ks", "record_delays",
           "DelayDistributions", "delay_distributions", "DELAY_TYPE_NAMES"]

#: The named definitions (see the module docstring).
EI_DEFINITIONS = {
    "active": "synapse ij with W_ij != 0",
    "type": "E if the presynaptic sign s_i > 0, I if s_i < 0; for free rows (s_i = 0) the sign of W_ij",
    "delta_delay_ms": "mean over units with E and I synapses of mu_I - mu_E, |W|-weighted mean delays (ms)",
    "delta_delay_sd": "mean over units of (mu_I - mu_E) / the |W|-weighted SD of the unit's delays",
    "frac_inh_later": "fraction of units with mu_I - mu_E > 0 (delays)",
    "delta_space": "mean over units of the |W|-weighted I minus E centroid in space",
    "moran_space": "mean over units of Moran's I of the synapse types ordered by space, chain neighbours",
    "moran_delay": "mean over units of Moran's I of the synapse types ordered by delay, chain neighbours",
    "delay_w1_ms": "Wasserstein-1 distance of the |W|-weighted E and I delay distributions of the matrix (ms)",
    "delay_ks": "Kolmogorov-Smirnov distance of the |W|-weighted E and I delay CDFs of the matrix",
    "delta_arrival_ms": "mean over (trial, spiking unit) of the |W|-weighted mean arrival t_i + d_ij of the I inputs "
                        "minus that of the E inputs in the causal set (arrival before the unit's spike)",
    "frac_inh_later_arrival": "fraction of (trial, unit) pairs whose I inputs arrive later on average",
}
#: The permutation nulls (see the module docstring).
EI_NULLS = ("delay_shuffle", "sign_shuffle")
_GREATER = {"moran_space", "moran_delay", "delay_w1_ms", "delay_ks"}
_DELAY_STATS = {"delta_delay_ms", "delta_delay_sd", "frac_inh_later", "moran_delay", "delay_w1_ms", "delay_ks"}


@dataclass(frozen=True)
class NullTest:
    """A statistic against one permutation null.

    Attributes
    ----------
    statistic, null : str
    observed, null_mean, null_sd, z, p : float
        ``z = (observed - null_mean) / null_sd`` (NaN if the SD is 0); ``p`` the permutation p-value.
    alternative : str
        ``"greater"`` or ``"two-sided"`` (distance from the null mean).
    n_perm : int
    """

    statistic: str
    null: str
    observed: float
    null_mean: float
    null_sd: float
    z: float
    p: float
    alternative: str
    n_perm: int


@dataclass(frozen=True, eq=False)
class EIStructure:
    """E/I structure of one weight matrix (:func:`ei_statistics`).

    Attributes
    ----------
    n_exc, n_inh : ndarray of int (n_post,)
        Active E and I synapses per postsynaptic unit.
    delta_delay_ms, delta_delay_sd, delta_space : ndarray (n_post,)
        Per unit I minus E centroid offsets (NaN where a unit lacks E or I synapses, or without delays).
    moran_space, moran_delay : ndarray (n_post,)
        Per unit Moran's I (NaN where undefined; ``moran_delay`` NaN without delays).
    delay_mean_exc_ms, delay_mean_inh_ms : float
        ``|W|``-weighted mean delays of the matrix's E and I synapses.
    summary : dict of str -> float
        The statistics of :data:`EI_DEFINITIONS` that apply.
    tests : dict of str -> NullTest
        ``"<statistic>/<null>"``.
    init_summary : dict or None
        ``summary`` of the network at initialisation, when given.
    definitions : dict
    """

    n_exc: np.ndarray
    n_inh: np.ndarray
    delta_delay_ms: np.ndarray
    delta_delay_sd: np.ndarray
    delta_space: np.ndarray
    moran_space: np.ndarray
    moran_delay: np.ndarray
    delay_mean_exc_ms: float
    delay_mean_inh_ms: float
    summary: dict
    tests: dict
    init_summary: dict = None
    definitions: dict = field(default_factory=lambda: dict(EI_DEFINITIONS))

    def rows(self):
        """One dict per (statistic, null) test, JSON-able."""
        return [dict(t.__dict__) for t in self.tests.values()]


@dataclass(frozen=True, eq=False)
class ArrivalOrder:
    """Arrival order of E and I inputs within trials (:func:`arrival_order`).

    Attributes
    ----------
    mean_exc_ms, mean_inh_ms, delta_ms : ndarray (n_trials, n_post)
        ``|W|``-weighted mean arrival of the causal E and I inputs and their difference (NaN where undefined).
    summary : dict
        ``delta_arrival_ms``, ``frac_inh_later_arrival``, ``n_pairs``.
    tests : dict of str -> NullTest
    definitions : dict
    """

    mean_exc_ms: np.ndarray
    mean_inh_ms: np.ndarray
    delta_ms: np.ndarray
    summary: dict
    tests: dict
    definitions: dict = field(default_factory=lambda: dict(EI_DEFINITIONS))


# --------------------------------------------------------------------------------------------- inputs
def _matrix(name, x, shape=None):
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise input_error(name, "a numeric matrix", type(x).__name__) from exc
    if a.ndim != 2 or (shape is not None and a.shape != shape):
        raise input_error(name, f"a 2-D array{'' if shape is None else f' of shape {shape}'}", f"shape {a.shape}")
    if not np.all(np.isfinite(a)):
        raise input_error(name, "finite values", f"{int((~np.isfinite(a)).sum())} NaN/inf entries")
    return a


def _inputs(weights, delays, signs, space):
    w = _matrix("weights", weights)
    n_pre, n_post = w.shape
    d = None
    if delays is not None:
        d = np.asarray(delays, dtype=np.float64)
        try:
            d = np.broadcast_to(d, w.shape).copy()
        except ValueError:
            raise input_error("delays", f"an array broadcastable to the weights' shape {w.shape}",
                              f"shape {d.shape}") from None
        d = _matrix("delays", d, w.shape)
    s = np.zeros(n_pre) if signs is None else np.asarray(signs, dtype=np.float64).reshape(-1)
    if s.shape != (n_pre,):
        raise input_error("signs", f"one presynaptic sign per row ({n_pre})", f"shape {np.shape(signs)}")
    c = np.arange(n_pre, dtype=np.float64) if space is None else np.asarray(space, dtype=np.float64).reshape(-1)
    if c.shape != (n_pre,) or not np.all(np.isfinite(c)):
        raise input_error("space", f"one finite coordinate per presynaptic unit ({n_pre})", f"shape {c.shape}")
    return w, d, np.sign(s), c


def record_delays(meta, spec=None):
    """The delays a recording's provenance holds: per weight matrix a float64 ``(n_pre, n_post)`` array (axonal and
    dendritic delays broadcast) or None for a matrix without delays; None when the record has no delays.

    ``meta``: ``record.meta`` of a recording of a network with delays (:meth:`synsem_ephys.sim.Network.record`
    writes ``meta["delays_ms"]``; Neo, NIX and NWB files of this package keep it). ``spec``: the network's
    :class:`~synsem_ephys.spec.NetworkSpec` (default: the one in ``meta``), for the matrices' shapes.
    """
    from ..io.layout import spec_json
    from ..spec import NetworkSpec

    if not isinstance(meta, dict):
        raise input_error("meta", "a record's meta dict", type(meta).__name__)
    raw = meta.get("delays_ms")
    if raw is None:
        return None
    if spec is None:
        text = spec_json(meta)
        if text is None:
            raise input_error("spec", "the network's NetworkSpec (the record's meta holds delays but no spec)", None)
        spec = NetworkSpec.from_json(text)
    if not isinstance(spec, NetworkSpec):
        raise input_error("spec", "a NetworkSpec", type(spec).__name__)
    sizes = spec.layer_sizes
    if not isinstance(raw, (list, tuple)) or len(raw) != spec.n_layers:
        raise input_error("meta['delays_ms']", f"a list of {spec.n_layers} entries (one per weight matrix)",
                          type(raw).__name__ if not isinstance(raw, (list, tuple)) else f"{len(raw)} entries")
    out = []
    for l, d in enumerate(raw):
        if d is None:
            out.append(None)
            continue
        shape = (sizes[l], sizes[l + 1])
        try:
            a = np.broadcast_to(np.asarray(d, dtype=np.float64), shape).copy()
        except ValueError:
            raise input_error(f"meta['delays_ms'][{l}]", f"delays broadcastable to {shape}",
                              f"shape {np.shape(d)}") from None
        out.append(_matrix(f"meta['delays_ms'][{l}]", a, shape))
    return out


#: Presynaptic types of :func:`delay_distributions`: E, I, and free rows whose type is unknown (no weights given).
DELAY_TYPE_NAMES = ("E", "I", "free")


@dataclass(frozen=True, eq=False)
class DelayDistributions:
    """Delay distributions per weight matrix and presynaptic type (:func:`delay_distributions`).

    Attributes
    ----------
    matrices : tuple of int
        The weight matrices with delays.
    edges_ms : tuple of ndarray
        Per matrix the histogram bin edges (ms), ``bins`` equal bins over ``[0, largest counted delay]``.
    counts : tuple of dict
        Per matrix, type name -> counts per bin (types with synapses only).
    rows : list of dict
        Per (matrix, type): ``n``, ``mean_ms``, ``sd_ms`` (ddof 0), ``q25_ms``, ``median_ms``, ``q75_ms``, ``min_ms``,
        ``max_ms``.
    synapses : str
        Which synapses count.
    definitions : dict
    """

    matrices: tuple
    edges_ms: tuple
    counts: tuple
    rows: list
    synapses: str
    definitions: dict


def delay_distributions(delays, signs=None, weights=None, *, bins=20, top_ms=None):
    """Delay distributions of each weight matrix with delays, per presynaptic type (unweighted counts).

    Parameters
    ----------
    delays : sequence of (array or None)
        Per weight matrix its delays (ms; broadcastable to ``(n_pre, n_post)``) or None (no delays).
    signs : sequence of array (n_pre,), optional
        Presynaptic signs per matrix (+1 E, -1 I, 0 free); None = every row free.
    weights : sequence of array (n_pre, n_post), optional
        With weights only the active synapses (``W != 0``) count and a free row's synapse takes the type of its
        weight's sign (:func:`synapse_types`); without, every synapse counts and free rows are ``"free"``.
    bins : int
    top_ms : sequence of float, optional
        Per matrix (one entry per entry of ``delays``) the upper end of its histogram (default: its largest
        counted delay), e.g. the largest of two networks' delays so that their histograms share the bins.

    Returns
    -------
    DelayDistributions
    """
    if isinstance(delays, np.ndarray) or not hasattr(delays, "__len__"):
        raise input_error("delays", "a sequence with one entry (None or delays) per weight matrix", type(delays).__name__)
    n = len(delays)
    for name, v in (("signs", signs), ("weights", weights)):
        if v is not None and len(v) != n:
            raise input_error(name, f"one entry per weight matrix ({n}, as delays)", f"{len(v)} entries")
    if isinstance(bins, bool) or not isinstance(bins, (int, np.integer)) or bins < 1:
        raise input_error("bins", "an integer >= 1", repr(bins))
    if top_ms is not None and (len(top_ms) != n or not all(t is None or (np.isfinite(t) and t >= 0) for t in top_ms)):
        raise input_error("top_ms", f"one finite delay >= 0 (or None) per weight matrix ({n}, as delays)", top_ms)
    mats, edges, counts, rows = [], [], [], []
    for l, d in enumerate(delays):
        if d is None:
            continue
        d = np.asarray(d, np.float64)
        if weights is not None:
            w = _matrix(f"weights[{l}]", weights[l])
            try:
                d = np.broadcast_to(d, w.shape)
            except ValueError:
                raise input_error(f"delays[{l}]", f"delays broadcastable to weights[{l}]'s shape {w.shape}",
                                  f"shape {d.shape}") from None
        d = _matrix(f"delays[{l}]", np.atleast_2d(d))
        s = np.zeros(d.shape[0]) if signs is None or signs[l] is None else \
            np.sign(np.asarray(signs[l], np.float64).reshape(-1))
        if s.shape != (d.shape[0],):
            raise input_error(f"signs[{l}]", f"one sign per presynaptic unit ({d.shape[0]})", f"shape {s.shape}")
        if weights is not None:
            t = synapse_types(w, s)
            lab = {"E": t > 0, "I": t < 0}
        else:
            row = np.broadcast_to(s[:, None], d.shape)
            lab = {"E": row > 0, "I": row < 0, "free": row == 0}
        counted = np.zeros(d.shape, bool)
        for sel in lab.values():
            counted |= sel
        top = float(d[counted].max()) if counted.any() else 0.0
        if top_ms is not None and top_ms[l] is not None:
            top = max(top, float(top_ms[l]))
        e = np.linspace(0.0, top if top > 0 else 1.0, int(bins) + 1)
        cnt = {}
        for name in DELAY_TYPE_NAMES:
            sel = lab.get(name)
            if sel is None or not sel.any():
                continue
            x = d[sel]
            cnt[name] = np.histogram(x, bins=e)[0]
            q25, med, q75 = np.quantile(x, [0.25, 0.5, 0.75])
            rows.append({"matrix": l, "type": name, "n": int(x.size), "mean_ms": float(x.mean()), "sd_ms": float(x.std()),
                         "q25_ms": float(q25), "median_ms": float(med), "q75_ms": float(q75), "min_ms": float(x.min()),
                         "max_ms": float(x.max())})
        mats.append(l)
        edges.append(e)
        counts.append(cnt)
    synapses = ("active synapses (W != 0); type = the presynaptic sign, for free rows the sign of W"
                if weights is not None else "every synapse of the matrix (no weights given); type = the presynaptic "
                "sign, 'free' for rows without one")
    return DelayDistributions(tuple(mats), tuple(edges), tuple(counts), rows, synapses,
                              {"delay": "transmission delay d_ij (ms): a spike of i at t_i arrives at j at t_i + d_ij",
                               "sd_ms": "SD with ddof 0", "quantiles": "numpy's linear interpolation",
                               "histogram": f"{int(bins)} equal bins over [0, the largest counted delay of the matrix"
                                            + ("" if top_ms is None else " or top_ms, if larger") + "]"})


def synapse_types(weights, signs=None):
    """Types of the synapses: +1 E, -1 I, 0 inactive (see the module docstring), int8 (n_pre, n_post)."""
    w = _matrix("weights", weights)
    s = np.zeros(w.shape[0]) if signs is None else np.sign(np.asarray(signs, dtype=np.float64).reshape(-1))
    t = np.where(s[:, None] != 0, s[:, None], np.sign(w))
    return np.where(w != 0, t, 0).astype(np.int8)


def receptive_field_centres(weights, input_space=None):
    """Space coordinate of every unit of every layer: inputs their ``input_space`` (default the index), each
    later unit the ``|W|``-weighted mean coordinate of its presynaptic units (NaN for a unit without inputs).

    ``weights``: the network's matrices in order. Returns one array per matrix's presynaptic layer (what
    ``space=`` of :func:`ei_statistics` takes for that matrix).
    """
    ws = [np.abs(_matrix(f"weights[{l}]", w)) for l, w in enumerate(weights)]
    c = np.arange(ws[0].shape[0], dtype=np.float64) if input_space is None else np.asarray(input_space, np.float64)
    out = [c]
    for w in ws[:-1]:
        tot = w.sum(axis=0)
        c = np.where(tot > 0, (w * np.nan_to_num(c)[:, None]).sum(axis=0) / np.where(tot > 0, tot, 1.0), np.nan)
        out.append(c)
    return out


def weight_delay_maps(weights, delays, *, space=None, space_bins=None, delay_bins=20, delay_range_ms=None):
    """Per postsynaptic unit the signed weight map ``R_j(c, tau)`` over space x delay bins.

    Parameters
    ----------
    weights, delays : array (n_pre, n_post)
        ``delays`` may be broadcastable (axonal ``(n_pre, 1)``) or None (all 0).
    space : array (n_pre,), optional
        Coordinates (default: the presynaptic index).
    space_bins : int or array, optional
        Bins of space (default: one per presynaptic unit when ``space`` is None, else 10).
    delay_bins : int or array
    delay_range_ms : (float, float), optional
        Default: from 0 to the largest delay (1 ms if all are 0).

    Returns
    -------
    maps : ndarray (n_post, n_space_bins, n_delay_bins)
    space_edges, delay_edges : ndarray
    """
    w, d, _, c = _inputs(weights, delays, None, space)
    if d is None:
        d = np.zeros_like(w)
    if space_bins is None:
        space_bins = np.arange(w.shape[0] + 1) - 0.5 if space is None else 10
    if delay_range_ms is None:
        delay_range_ms = (0.0, float(d.max()) if d.max() > 0 else 1.0)
    c_edges = np.histogram_bin_edges(c, bins=space_bins)
    d_edges = np.histogram_bin_edges(d, bins=delay_bins, range=delay_range_ms)
    maps = np.stack([np.histogram2d(np.broadcast_to(c, w.shape[:1]), d[:, j], bins=(c_edges, d_edges),
                                    weights=w[:, j])[0] for j in range(w.shape[1])]) if w.shape[1] else \
        np.zeros((0, len(c_edges) - 1, len(d_edges) - 1))
    return maps, c_edges, d_edges


# --------------------------------------------------------------------------------------------- kernels
def weighted_w1_ks(x_exc, w_exc, x_inh, w_inh):
    """Wasserstein-1 and Kolmogorov-Smirnov distances of two weighted samples (NaN, NaN if one is empty)."""
    x_exc, w_exc, x_inh, w_inh = (np.asarray(v, np.float64).reshape(-1) for v in (x_exc, w_exc, x_inh, w_inh))
    if x_exc.size == 0 or x_inh.size == 0 or w_exc.sum() <= 0 or w_inh.sum() <= 0:
        return float("nan"), float("nan")
    grid = np.unique(np.concatenate([x_exc, x_inh]))

    def cdf(x, w):
        o = np.argsort(x, kind="stable")
        cum = np.concatenate([[0.0], np.cumsum(w[o])]) / w.sum()
        return cum[np.searchsorted(x[o], grid, side="right")]

    diff = np.abs(cdf(x_exc, w_exc) - cdf(x_inh, w_inh))
    return float(np.sum(diff[:-1] * np.diff(grid))), float(diff.max())


def _moran_chain(types, key):
    """Per column Moran's I of the active types (+1/-1) in the order of ``key``, chain neighbours."""
    active = types != 0
    order = np.argsort(np.where(active, key, np.inf), axis=0, kind="stable")
    x = np.take_along_axis(types.astype(np.float64), order, axis=0)
    n = active.sum(axis=0)
    valid = np.arange(types.shape[0])[:, None] < n[None, :]
    mean = x.sum(axis=0) / np.maximum(n, 1)
    z = np.where(valid, x - mean, 0.0)
    num = (z[:-1] * z[1:]).sum(axis=0)
    den = (z * z).sum(axis=0)
    ok = (n >= 3) & (den > 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(ok, n / np.maximum(n - 1, 1) * num / np.where(den > 0, den, 1.0), np.nan)


def _weighted_mean(v, wt):
    tot = wt.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(tot > 0, (v * wt).sum(axis=0) / np.where(tot > 0, tot, 1.0), np.nan)


def _per_unit(w_abs, types, d, c):
    """Per-unit arrays and the summary of the statistics that apply."""
    e, i = (types > 0), (types < 0)
    both = e.any(axis=0) & i.any(axis=0)
    cc = np.broadcast_to(c[:, None], w_abs.shape)
    out = {"n_exc": e.sum(axis=0), "n_inh": i.sum(axis=0)}
    ds = _weighted_mean(cc, w_abs * i) - _weighted_mean(cc, w_abs * e)
    out["delta_space"] = np.where(both, ds, np.nan)
    out["moran_space"] = _moran_chain(types, cc)
    summ = {"delta_space": _nanmean(out["delta_space"]), "moran_space": _nanmean(out["moran_space"])}
    if d is None:
        nan = np.full(w_abs.shape[1], np.nan)
        out.update(delta_delay_ms=nan, delta_delay_sd=nan, moran_delay=nan, mean_e=np.nan, mean_i=np.nan)
        return out, summ
    act = w_abs * (types != 0)
    mu = _weighted_mean(d, act)
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(_weighted_mean((d - mu) ** 2, act))
    dd = np.where(both, _weighted_mean(d, w_abs * i) - _weighted_mean(d, w_abs * e), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        dsd = np.where(both & (sd > 0), dd / np.where(sd > 0, sd, 1.0), np.nan)
    out.update(delta_delay_ms=dd, delta_delay_sd=dsd, moran_delay=_moran_chain(types, d))
    we, wi = w_abs[e], w_abs[i]
    out["mean_e"] = float((d[e] * we).sum() / we.sum()) if we.sum() > 0 else np.nan
    out["mean_i"] = float((d[i] * wi).sum() / wi.sum()) if wi.sum() > 0 else np.nan
    w1, ks = weighted_w1_ks(d[e], we, d[i], wi)
    valid = ~np.isnan(dd)
    summ.update(delta_delay_ms=_nanmean(dd), delta_delay_sd=_nanmean(dsd),
                frac_inh_later=float(np.mean(dd[valid] > 0)) if valid.any() else np.nan,
                moran_delay=_nanmean(out["moran_delay"]), delay_w1_ms=w1, delay_ks=ks)
    return out, summ


def _nanmean(x):
    x = np.asarray(x, np.float64)
    return float(np.mean(x[~np.isnan(x)])) if np.any(~np.isnan(x)) else float("nan")


def _shuffle_within_columns(values, movable, rng):
    """``values`` with, in each column, the entries where ``movable`` randomly permuted among themselves."""
    n_rows, n_cols = values.shape
    src = np.argsort(np.where(movable, rng.random(values.shape), np.inf), axis=0)
    dst = np.argsort(~movable, axis=0, kind="stable")
    valid = np.arange(n_rows)[:, None] < movable.sum(axis=0)[None, :]
    cols = np.broadcast_to(np.arange(n_cols)[None, :], values.shape)
    out = values.copy()
    out[dst[valid], cols[valid]] = values[src[valid], cols[valid]]
    return out


def _sign_shuffle(types, s, rng):
    """Dale-preserving: constrained rows' labels permuted; free rows' types permuted per column."""
    out = types.copy()
    con = s != 0
    if con.any():
        perm = s.copy()
        perm[con] = rng.permutation(s[con])
        out[con] = np.where(types[con] != 0, perm[con][:, None], 0).astype(types.dtype)
    free = (~con)[:, None] & (types != 0)
    if free.any():
        out = np.where(free, _shuffle_within_columns(types, free, rng), out).astype(types.dtype)
    return out


def _test(stat, null, obs, samples):
    samples = np.asarray(samples, np.float64)
    samples = samples[~np.isnan(samples)]
    n = samples.size
    if n == 0 or not np.isfinite(obs):
        return NullTest(stat, null, float(obs), float("nan"), float("nan"), float("nan"), float("nan"),
                        "greater" if stat in _GREATER else "two-sided", n)
    mean, sd = float(samples.mean()), float(samples.std(ddof=1)) if n > 1 else 0.0
    if stat in _GREATER:
        alt, extreme = "greater", samples >= obs - 1e-12 * max(1.0, abs(obs))
    else:
        alt = "two-sided"
        extreme = np.abs(samples - mean) >= abs(obs - mean) - 1e-12 * max(1.0, abs(obs))
    z = (obs - mean) / sd if sd > 0 else float("nan")
    return NullTest(stat, null, float(obs), mean, sd, float(z), float((1 + extreme.sum()) / (1 + n)), alt, n)


# --------------------------------------------------------------------------------------------- public
def ei_statistics(weights, delays=None, signs=None, *, space=None, n_perm=1000, seed=0, init_weights=None,
                 init_delays=None, nulls=EI_NULLS):
    """E/I structure statistics of one weight matrix against permutation nulls (see the module docstring).

    Parameters
    ----------
    weights : array (n_pre, n_post)
        Signed weights; 0 = no synapse.
    delays : array broadcastable to (n_pre, n_post), optional
        Delays in ms (:meth:`synsem_ephys.sim.Network.delays_numpy`); None = no delays (delay statistics absent).
    signs : array (n_pre,), optional
        Presynaptic signs (+1 E, -1 I, 0 free; ``Network.weights_numpy()[1][l]``); None = every row free.
    space : array (n_pre,), optional
        Space coordinates of the presynaptic units (default: their index).
    n_perm : int
        Permutations per null (0 = no tests).
    seed : int
    init_weights, init_delays : optional
        The matrix at initialisation: its statistics go to ``init_summary``.
    nulls : sequence of str
        Which of :data:`EI_NULLS` to run.

    Returns
    -------
    EIStructure
    """
    w, d, s, c = _inputs(weights, delays, signs, space)
    bad = [n for n in nulls if n not in EI_NULLS]
    if bad:
        raise input_error("nulls", f"a subset of {list(EI_NULLS)}", bad)
    if int(n_perm) < 0:
        raise input_error("n_perm", "an integer >= 0", n_perm)
    types = synapse_types(w, s)
    w_abs = np.abs(w)
    per, summ = _per_unit(w_abs, types, d, c)
    rng = np.random.default_rng(seed)
    tests = {}
    for null in nulls:
        if null == "delay_shuffle" and d is None:
            continue
        samples = {k: [] for k in summ}
        for _ in range(int(n_perm)):
            if null == "delay_shuffle":
                _, sm = _per_unit(w_abs, types, _shuffle_within_columns(d, types != 0, rng), c)
            else:
                _, sm = _per_unit(w_abs, _sign_shuffle(types, s, rng), d, c)
            for k in summ:
                samples[k].append(sm[k])
        for k in summ:
            if null == "delay_shuffle" and k not in _DELAY_STATS:
                continue  # unchanged by the null
            if n_perm:
                tests[f"{k}/{null}"] = _test(k, null, summ[k], samples[k])
    init_summary = None
    if init_weights is not None:
        wi, di, _, _ = _inputs(init_weights, init_delays if init_delays is not None else delays, signs, space)
        if wi.shape != w.shape:
            raise input_error("init_weights", f"the weights' shape {w.shape}", f"shape {wi.shape}")
        init_summary = _per_unit(np.abs(wi), synapse_types(wi, s), di, c)[1]
    return EIStructure(per["n_exc"], per["n_inh"], per["delta_delay_ms"], per["delta_delay_sd"], per["delta_space"],
                       per["moran_space"], per["moran_delay"], per["mean_e"], per["mean_i"], summ, tests,
                       init_summary)


def _arrivals(t_pre, t_post, w_abs, types, d, chunk):
    n_tr = t_pre.shape[0]
    me = np.full((n_tr, w_abs.shape[1]), np.nan)
    mi = np.full_like(me, np.nan)
    e, i = (types > 0) * w_abs, (types < 0) * w_abs
    for a in range(0, n_tr, chunk):
        arr = t_pre[a:a + chunk, :, None] + d[None]  # (b, n_pre, n_post)
        causal = np.isfinite(arr) & (arr < t_post[a:a + chunk, None, :])
        arr0 = np.where(causal, arr, 0.0)
        for out, wt in ((me, e), (mi, i)):
            ww = causal * wt[None]
            tot = ww.sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                out[a:a + chunk] = np.where(tot > 0, (arr0 * ww).sum(axis=1) / np.where(tot > 0, tot, 1.0), np.nan)
    return me, mi


def _arrival_summary(delta):
    v = delta[~np.isnan(delta)]
    return {"delta_arrival_ms": float(v.mean()) if v.size else float("nan"),
            "frac_inh_later_arrival": float(np.mean(v > 0)) if v.size else float("nan"), "n_pairs": int(v.size)}


def arrival_order(pre_times_ms, post_times_ms, weights, delays=None, signs=None, *, n_perm=200, seed=0,
                  nulls=EI_NULLS, chunk=64):
    """Within-trial arrival order of the causal E and I inputs of every spiking unit (module docstring).

    Parameters
    ----------
    pre_times_ms : array (n_trials, n_pre)
        First-spike times of the presynaptic layer (``inf`` = silent), e.g. a record's layer times.
    post_times_ms : array (n_trials, n_post)
        Of the postsynaptic layer.
    weights, delays, signs
        As :func:`ei_statistics`.
    n_perm : int
        Permutations per null; the nulls keep the observed postsynaptic spike times.
    chunk : int
        Trials at once (memory ``chunk * n_pre * n_post`` floats).

    Returns
    -------
    ArrivalOrder
    """
    w, d, s, _ = _inputs(weights, delays, signs, None)
    t_pre = np.asarray(pre_times_ms, np.float64)
    t_post = np.asarray(post_times_ms, np.float64)
    if t_pre.ndim != 2 or t_pre.shape[1] != w.shape[0]:
        raise input_error("pre_times_ms", f"shape (n_trials, {w.shape[0]})", f"shape {t_pre.shape}")
    if t_post.shape != (t_pre.shape[0], w.shape[1]):
        raise input_error("post_times_ms", f"shape ({t_pre.shape[0]}, {w.shape[1]})", f"shape {t_post.shape}")
    if np.isnan(t_pre).any() or np.isnan(t_post).any():
        raise input_error("pre_times_ms, post_times_ms", "times or inf (no spike)", "NaN")
    d = np.zeros_like(w) if d is None else d
    types, w_abs = synapse_types(w, s), np.abs(w)
    me, mi = _arrivals(t_pre, t_post, w_abs, types, d, int(chunk))
    delta = mi - me
    summ = _arrival_summary(delta)
    rng = np.random.default_rng(seed)
    tests = {}
    for null in nulls:
        if null not in EI_NULLS:
            raise input_error("nulls", f"a subset of {list(EI_NULLS)}", null)
        if null == "delay_shuffle" and delays is None:
            continue
        samples = {"delta_arrival_ms": [], "frac_inh_later_arrival": []}
        for _ in range(int(n_perm)):
            if null == "delay_shuffle":
                a, b = _arrivals(t_pre, t_post, w_abs, types, _shuffle_within_columns(d, types != 0, rng), int(chunk))
            else:
                a, b = _arrivals(t_pre, t_post, w_abs, _sign_shuffle(types, s, rng), d, int(chunk))
            sm = _arrival_summary(b - a)
            for k in samples:
                samples[k].append(sm[k])
        if n_perm:
            for k in samples:
                tests[f"{k}/{null}"] = _test(k, null, summ[k], samples[k])
    return ArrivalOrder(me, mi, delta, summ, tests)
