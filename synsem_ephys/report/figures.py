"""Figures of the analysis report (matplotlib's object API with the Agg canvas; no pyplot state).

Each function takes analysis results, writes one PNG and returns its path. Colours: excitatory red,
inhibitory blue, everything else grey.
"""

import numpy as np

from ..optional import require

__all__ = ["CELL_COLOURS", "raster_figure", "dispersion_figure", "ig_figure", "pathway_figure", "accuracy_figure",
           "psth_figure", "tuning_figure", "sttc_figure", "delay_figure"]

CELL_COLOURS = {"E": "#c0392b", "I": "#2471a3", "input": "#7f8c8d", "output": "#27ae60", "hidden": "#8e44ad",
                "unknown": "#555555"}


def _figure(w, h):
    require("matplotlib", "the report's figures")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(w, h), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _save(fig, path, *, crop=True):
    """Write the PNG; ``crop=False`` for a figure already laid out by ``tight_layout`` (cropping to the drawn
    extent costs one more full draw: ~1.3x the time of a 14-panel figure)."""
    fig.savefig(str(path), dpi=100, bbox_inches="tight" if crop else None)
    return path


def raster_figure(record, groups, disp, trial, path, *, hist_trials=None):
    """Raster of one trial (units stacked by group, packet span shaded) and the spike-time histogram per group."""
    fig = _figure(11, 5.5)
    ax, axh = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.3, 1]})
    sel = record.trial_index == trial
    t, u = record.times_ms[sel], record.unit_index[sel]
    order = np.lexsort((np.arange(record.n_units), groups.of_unit))
    row = np.empty(record.n_units, np.int64)
    row[order] = np.arange(record.n_units)
    ct = record.units.cell_type
    for c in np.unique(ct):
        m = ct[u] == c
        ax.scatter(t[m], row[u[m]], s=3, color=CELL_COLOURS.get(str(c), "#555555"), label=str(c), linewidths=0)
    sizes = groups.sizes()
    starts = np.concatenate([[0], np.cumsum(sizes)])
    pk = disp.packet if disp.packet is not None else disp.all
    for g, name in enumerate(groups.names):
        ax.axhline(starts[g] - 0.5, color="k", lw=0.4)
        m, s = pk.median_ms[g, trial], pk.sd_ms[g, trial]
        if np.isfinite(m):
            s = s if np.isfinite(s) else 0.0
            ax.fill_betweenx([starts[g], starts[g + 1]], m - s, m + s, color="orange", alpha=0.25, lw=0)
    dec = record.trials.decision_time_ms[trial]
    if np.isfinite(dec):
        ax.axvline(dec, color="k", ls="--", lw=1, label="decision")
    ax.set_yticks((starts[:-1] + starts[1:]) / 2)
    ax.set_yticklabels(groups.names, fontsize=8)
    ax.set_xlabel("time in trial (ms)")
    lab = record.trials.label[trial]
    ax.set_title(f"trial {trial} (label {lab}); shaded: packet median +- SD")
    ax.legend(loc="lower right", fontsize=7, markerscale=3)
    rows = np.arange(record.n_trials) if hist_trials is None else np.asarray(hist_trials)
    keep = np.isin(record.trial_index, rows)
    tt = record.times_ms[keep]
    gg = groups.of_unit[record.unit_index[keep]]
    hi = np.quantile(tt, 0.995) if tt.size else 1.0
    bins = np.linspace(0.0, max(hi, 1e-3), 80)
    for g, name in enumerate(groups.names):
        h, _ = np.histogram(tt[gg == g], bins)
        if h.max() > 0:
            axh.plot(0.5 * (bins[1:] + bins[:-1]), g + 0.9 * h / h.max(), lw=1)
            axh.fill_between(0.5 * (bins[1:] + bins[:-1]), g, g + 0.9 * h / h.max(), alpha=0.3)
    axh.set_yticks(np.arange(len(groups.names)))
    axh.set_yticklabels(groups.names, fontsize=8)
    axh.set_xlabel("time in trial (ms)")
    axh.set_title(f"spike times per group, {rows.size} trials (normalised)")
    return _save(fig, path)


def _band(ax, x, stats, label, colour):
    med = np.array([np.nanmedian(r) if np.any(np.isfinite(r)) else np.nan for r in stats])
    lo = np.array([np.nanquantile(r, 0.25) if np.any(np.isfinite(r)) else np.nan for r in stats])
    hi = np.array([np.nanquantile(r, 0.75) if np.any(np.isfinite(r)) else np.nan for r in stats])
    ax.plot(x, med, "o-", color=colour, label=label)
    ax.fill_between(x, lo, hi, color=colour, alpha=0.2)


def dispersion_figure(disp, packets, complexity, path):
    """SD and IQR of spike times per group (median, quartile band over trials), a-sigma plane, complexity."""
    n_panels = 4 if complexity is not None else 3
    fig = _figure(4.2 * n_panels, 3.8)
    axes = fig.subplots(1, n_panels)
    x = np.arange(len(disp.group_names))
    for ax, attr, title in ((axes[0], "sd_ms", "SD of spike times"), (axes[1], "iqr_ms", "IQR of spike times")):
        _band(ax, x, getattr(disp.all, attr), "all spikes", "#555555")
        if disp.packet is not None:
            _band(ax, x, getattr(disp.packet, attr), "packet", "#d35400")
        ax.set_xticks(x)
        ax.set_xticklabels(disp.group_names, rotation=30, fontsize=8)
        ax.set_ylabel("ms")
        ax.set_title(title + " (median, IQR over trials)", fontsize=9)
        ax.legend(fontsize=7)
    ax = axes[2]
    a, s = packets.a_fraction, packets.sigma_median_ms
    ok = np.isfinite(a) & np.isfinite(s)
    ax.plot(s[ok], a[ok], "-", color="#aaaaaa")
    sc = ax.scatter(s[ok], a[ok], c=x[ok], cmap="viridis", zorder=3)
    for i in np.flatnonzero(ok):
        ax.annotate(disp.group_names[i], (s[i], a[i]), fontsize=7, xytext=(3, 3), textcoords="offset points")
    fig.colorbar(sc, ax=ax, label="depth")
    ax.set_xlabel("sigma: median SD of packet (ms)")
    ax.set_ylabel("a / units: fraction in packet")
    ax.set_title("pulse packets (a, sigma) across depth", fontsize=9)
    if complexity is not None:
        ax = axes[3]
        with np.errstate(invalid="ignore", divide="ignore"):
            frac = np.where(complexity.n_spikes > 0, complexity.peak_complexity / complexity.n_spikes, np.nan)
        _band(ax, np.arange(len(complexity.group_names)), frac, f"Elephant peak / spikes ({complexity.bin_ms:g} ms bins)",
              "#16a085")
        ax.set_xticks(np.arange(len(complexity.group_names)))
        ax.set_xticklabels(complexity.group_names, rotation=30, fontsize=8)
        ax.set_title(f"Elephant complexity, {complexity.trials.size} trials", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, crop=False)


def ig_figure(ig, groups, path, *, more=()):
    """IG histograms per group by cell type, and median IG per group for each cell type.

    One figure row for ``ig`` and one for each further :class:`InformationGain` in ``more`` (e.g. the
    pre-decision definition of "active"; None entries are skipped), each labelled with its definition.
    """
    rows = [(f"active = {r.definition}", r) for r in (ig, *more) if r is not None]
    n = groups.n_groups
    fig = _figure(2.6 * (n + 1), 3.2 * len(rows))
    axes_all = np.asarray(fig.subplots(len(rows), n + 1)).reshape(len(rows), n + 1)
    bins = np.linspace(-0.2, 1.0, 25)
    for (label, res), axes in zip(rows, axes_all):
        types = [c for c in ("E", "I", "hidden", "input", "output", "unknown") if c in set(res.cell_type.tolist())]
        med = {c: np.full(n, np.nan) for c in types}
        for g in range(n):
            ax = axes[g]
            for c in types:
                v = res.ig[(groups.of_unit == g) & (res.cell_type == c)]
                v = v[np.isfinite(v)]
                if v.size:  # one filled step artist per histogram (ax.hist draws a patch per bin: 1.4x slower)
                    dens, _ = np.histogram(np.clip(v, bins[0], bins[-1]), bins, density=True)
                    ax.stairs(dens, bins, fill=True, color=CELL_COLOURS.get(c, "#555"), alpha=0.55,
                              label=f"{c} (n={v.size})")
                    med[c][g] = np.median(v)
            ax.set_title(groups.names[g] + (f"\n{label}" if label and g == 0 else ""), fontsize=9)
            ax.set_xlabel("IG")
            if ax.get_legend_handles_labels()[0]:  # a group without finite IG values has nothing to label
                ax.legend(fontsize=6)
            else:
                ax.text(0.5, 0.5, "no finite IG", transform=ax.transAxes, ha="center", fontsize=8)
        ax = axes[n]
        for c in types:
            ax.plot(np.arange(n), med[c], "o-", color=CELL_COLOURS.get(c, "#555"), label=c)
        ax.set_xticks(np.arange(n))
        ax.set_xticklabels(groups.names, rotation=30, fontsize=8)
        ax.set_ylim(-0.05, 1.05)
        ax.set_ylabel("median IG")
        ax.set_title("median IG vs depth", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    return _save(fig, path, crop=False)


def pathway_figure(overlap, activity, path, *, alternative=None, method="influence", null=None):
    """Pathway overlap (Jaccard, with chance; optionally a second method) and own vs other-class activity."""
    fig = _figure(9, 3.6)
    ax, ax2 = fig.subplots(1, 2)
    x = np.asarray(overlap.layers)
    ax.plot(x, overlap.mean_jaccard, "o-", color="#8e44ad", label=f"class pathways ({method})")
    ax.plot(x, overlap.chance_jaccard, "s--", color="#aaaaaa", label="chance (random sets, same sizes)")
    if null is not None:  # a PathwayNull: its median and 5-95 % band over the shuffles
        lo, hi = np.nanquantile(null.overlap_null, [0.05, 0.95], axis=0)
        ax.fill_between(x, lo, hi, color="#555555", alpha=0.2, label=f"null, {null.n_shuffles} weight shuffles (5-95 %)")
        ax.plot(x, np.nanmedian(null.overlap_null, axis=0), "x-.", color="#555555", label="null median")
    if alternative is not None:
        other = "ancestors" if method == "influence" else "influence"
        ax.plot(x, alternative.mean_jaccard, "^-", color="#d4ac0d", label=f"class pathways ({other})")
        ax.plot(x, alternative.chance_jaccard, "v:", color="#d4ac0d", alpha=0.6, label=f"chance ({other})")
    ax.set_xlabel("hidden layer")
    ax.set_ylabel("mean pairwise Jaccard")
    ax.set_xticks(x)
    ax.set_ylim(-0.02, 1.02)
    ax.legend(fontsize=7)
    ax.set_title("overlap between class pathways", fontsize=9)
    if activity is not None:
        ax2.plot(x, activity.own, "o-", color="#c0392b", label="own class")
        ax2.plot(x, activity.other, "s--", color="#555555", label="other classes (mean)")
        ax2.set_ylabel("P(active)")
        ax2.set_xticks(x)
        ax2.set_ylim(-0.02, 1.02)
        ax2.legend(fontsize=7)
    ax2.set_xlabel("hidden layer")
    ax2.set_title("activity of pathway units", fontsize=9)
    fig.tight_layout()
    return _save(fig, path, crop=False)


def accuracy_figure(labels, predictions, class_names, accuracy, path):
    """Confusion matrix (rows: label, columns: prediction; last column: no output spike)."""
    k = len(class_names)
    cm = np.zeros((k, k + 1))
    for l, p in zip(labels, predictions):
        if 0 <= l < k:
            cm[l, p if 0 <= p < k else k] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        cm = cm / cm.sum(axis=1, keepdims=True)
    fig = _figure(5.2, 4.4)
    ax = fig.subplots()
    im = ax.imshow(cm, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(np.arange(k + 1))
    ax.set_xticklabels(list(class_names) + ["none"], fontsize=7, rotation=90)
    ax.set_yticks(np.arange(k))
    ax.set_yticklabels(class_names, fontsize=7)
    ax.set_xlabel("prediction")
    ax.set_ylabel("label")
    ax.set_title(f"accuracy {accuracy:.3f}", fontsize=10)
    fig.colorbar(im, ax=ax, label="fraction of the label's trials")
    return _save(fig, path)


def psth_figure(psth, path, *, max_units=16):
    """PSTH per condition (:class:`~synsem_ephys.analysis.units.Psth`): one panel per unit (the first
    ``max_units``), one line per condition, aligned to the trial start."""
    from matplotlib import colormaps

    n_units = min(len(psth.unit_names), int(max_units))
    n_cols = min(4, max(n_units, 1))
    n_rows = max(1, -(-n_units // n_cols))
    fig = _figure(3.4 * n_cols, 2.5 * n_rows + 0.6)
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    x = 0.5 * (psth.edges_ms[1:] + psth.edges_ms[:-1])
    k = len(psth.class_names)
    cmap = colormaps["tab10" if k <= 10 else "tab20"]
    for u in range(n_units):
        ax = axes[u]
        for c, name in enumerate(psth.class_names):
            ax.plot(x, psth.rate_hz[c, u], lw=1, color=cmap(c % cmap.N), label=str(name))
        ax.set_title(str(psth.unit_names[u]), fontsize=9)
        ax.set_xlabel("time from trial start (ms)", fontsize=8)
        ax.set_ylabel("rate (Hz)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[n_units:]:
        ax.set_axis_off()
    if n_units:
        axes[0].legend(fontsize=6, ncol=1 + k // 8)
    more = f"; first {n_units} of {len(psth.unit_names)} units" if len(psth.unit_names) > n_units else ""
    fig.suptitle(f"PSTH per condition, {psth.bin_ms:g} ms bins{more}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def sttc_figure(cond, path, *, max_conditions=6):
    """STTC matrix per condition (:class:`~synsem_ephys.analysis.sttc.ConditionSTTC`): one heat map per
    condition (the first ``max_conditions``), the same units and colour scale (-1..1) in each."""
    k = min(len(cond.class_names), int(max_conditions))
    n_cols = min(3, max(k, 1))
    n_rows = max(1, -(-k // n_cols))
    fig = _figure(3.6 * n_cols + 0.8, 3.3 * n_rows + 0.6)
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    im = None
    for c in range(k):
        ax = axes[c]
        im = ax.imshow(np.ma.masked_invalid(cond.sttc[c]), vmin=-1.0, vmax=1.0, cmap="RdBu_r", interpolation="nearest")
        ax.set_title(f"{cond.class_names[c]} ({int(cond.n_trials[c])} trials, mean {cond.mean_pair[c]:.3f})", fontsize=8)
        ax.set_xlabel("unit", fontsize=8)
        ax.set_ylabel("unit", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[k:]:
        ax.set_axis_off()
    if im is not None:
        fig.colorbar(im, ax=list(axes[:k]), label="STTC", shrink=0.8)
    more = f"; first {k} of {len(cond.class_names)} conditions" if len(cond.class_names) > k else ""
    fig.suptitle(f"STTC per condition, +-{cond.dt_ms:g} ms, {cond.unit_rows.size} most active units{more}", fontsize=10)
    return _save(fig, path)


def tuning_figure(info, path, *, max_units=16):
    """Tuning curves (:class:`~synsem_ephys.analysis.signals.SignalInformation`): one panel per unit (the first
    ``max_units``), rate per bin of the signal's value, the occupancy shaded behind, information and p in the title."""
    tc = info.tuning
    n_units = min(len(tc.unit_names), int(max_units))
    n_cols = min(4, max(n_units, 1))
    n_rows = max(1, -(-n_units // n_cols))
    fig = _figure(3.4 * n_cols, 2.6 * n_rows + 0.6)
    axes = np.asarray(fig.subplots(n_rows, n_cols, squeeze=False)).ravel()
    width = np.diff(tc.edges)
    occ = tc.occupancy_s / tc.occupancy_s.max() if tc.occupancy_s.size and tc.occupancy_s.max() > 0 else tc.occupancy_s
    for u in range(n_units):
        ax = axes[u]
        top = np.nanmax(tc.rate_hz[u]) if np.any(np.isfinite(tc.rate_hz[u])) else 1.0
        ax.bar(tc.centres, occ * (top if top > 0 else 1.0), width=width, color="#dddddd", label="occupancy (scaled)")
        ax.plot(tc.centres, tc.rate_hz[u], "o-", lw=1, ms=3, color="#2471a3")
        ax.set_title(f"{tc.unit_names[u]}: {info.bits_per_spike[u]:.2f} bits/spike, p {info.p_value[u]:.3g}", fontsize=8)
        ax.set_xlabel(f"{tc.signal} ({tc.unit})" if tc.unit else tc.signal, fontsize=8)
        ax.set_ylabel("rate (Hz)", fontsize=8)
        ax.tick_params(labelsize=7)
    for ax in axes[n_units:]:
        ax.set_axis_off()
    more = f"; first {n_units} of {len(tc.unit_names)} units" if len(tc.unit_names) > n_units else ""
    fig.suptitle(f"Tuning to {tc.signal} (channel {tc.channel}), {tc.edges.size - 1} bins{more}", fontsize=10)
    fig.tight_layout()
    return _save(fig, path)


def delay_figure(dist, path, initial=None):
    """Delay distributions (:class:`~synsem_ephys.analysis.ei_structure.DelayDistributions`): one panel per weight
    matrix with delays, the histogram of each presynaptic type as a fraction of its synapses (E red, I blue, free grey);
    ``initial``: those of the network at initialisation (on the same bins), dashed."""
    n = max(1, len(dist.matrices))
    init = {} if initial is None else dict(zip(initial.matrices, zip(initial.edges_ms, initial.counts)))
    fig = _figure(min(3.6 * n, 14.4), 2.9)
    axes = np.asarray(fig.subplots(1, n, squeeze=False)).ravel()
    colours = {"E": CELL_COLOURS["E"], "I": CELL_COLOURS["I"], "free": CELL_COLOURS["input"]}
    for ax, l, edges, counts in zip(axes, dist.matrices, dist.edges_ms, dist.counts):
        for name, c in counts.items():
            frac = c / max(int(c.sum()), 1)
            ax.stairs(frac, edges, color=colours[name], lw=1.5, label=f"{name} ({int(c.sum())})")
        if l in init:
            e0, c0 = init[l]
            for name, c in c0.items():
                ax.stairs(c / max(int(c.sum()), 1), e0, color=colours[name], lw=1.0, ls="--",
                          label=f"{name} at init ({int(c.sum())})")
        ax.set_title(f"matrix {l} (layer {l} -> {l + 1})", fontsize=9)
        ax.set_xlabel("delay (ms)", fontsize=8)
        ax.set_ylabel("fraction of synapses", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7, frameon=False)
    fig.suptitle("Transmission delays per presynaptic type" + ("" if initial is None else
                                                                 " (dashed: the network at initialisation)"), fontsize=10)
    fig.tight_layout()
    return _save(fig, path)
