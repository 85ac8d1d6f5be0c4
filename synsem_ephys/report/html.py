"""HTML page of the analysis report, rendered from the JSON summary (figures referenced as PNG files)."""

import datetime
import html

__all__ = ["render_html"]

_CSS = """body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
table{border-collapse:collapse;margin:0.6em 0;font-size:0.9em}td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}img{max-width:100%;border:1px solid #ddd;margin:0.5em 0}
.yes{color:#1e8449;font-weight:bold}.no{color:#b03a2e;font-weight:bold}.na{color:#777}code{background:#f6f6f6;padding:0 3px}
.eq{font-family:monospace;background:#f8f8f8;padding:0.4em 0.8em;display:inline-block}"""


def _f(v, nd=3):
    if v is None:
        return "&ndash;"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return html.escape(str(v))


def _table(header, rows):
    out = ["<table><tr>" + "".join(f"<th class='l'>{html.escape(h)}</th>" if i == 0 else f"<th>{html.escape(h)}</th>"
                                   for i, h in enumerate(header)) + "</tr>"]
    for r in rows:
        out.append("<tr>" + "".join(f"<td class='l'>{_f(v)}</td>" if i == 0 else f"<td>{_f(v)}</td>"
                                    for i, v in enumerate(r)) + "</tr>")
    return "\n".join(out) + "</table>"


def _img(summary, key, alt):
    name = summary.get("figures", {}).get(key)
    return f"<img src='{html.escape(name)}' alt='{html.escape(alt)}'>" if name else ""


def _units_section(s):
    """The per-unit table and the PSTH of a recording without layers."""
    u = s["units"]
    dfn = u["definitions"]
    out = ["<h2>Units</h2>",
           f"<p>One row per unit (also in <a href='{html.escape(s.get('units_csv') or 'units.csv')}'>units.csv</a>). "
           f"Rate: {html.escape(dfn['rate_hz'])} ({_f(u['total_duration_ms'] / 1000.0, 1)} s). "
           f"CV: {html.escape(dfn['cv_isi'])}. ISI violations: {html.escape(dfn['isi_violation_fraction'])} "
           f"(refractory threshold {u['refractory_ms']:g} ms). Active = {html.escape(u['active'])}; "
           f"IG with bias correction {html.escape(u['correction'])}"
           + (f" and its p-value from {u['n_shuffles']} label shuffles" if u["n_shuffles"] else "")
           + f", units active in fewer than {u['min_active_trials']} trials have none. Preferred condition: "
           f"{html.escape(dfn['preferred'])}, with P(active | preferred).</p>"]
    missing = {}
    for r in u["rows"]:
        why = r.get("ig_missing_reason")
        if why:
            key = why.split(",")[0] if why.startswith("active in") else why
            missing.setdefault("active in fewer than min_active_trials labelled trials" if why.startswith("active in")
                               else key, []).append(r["unit"])
    if missing:
        out.append("<p>No IG (empty cells) for " + "; ".join(
            f"{len(v)} unit{'s' if len(v) != 1 else ''}: {html.escape(k)}" for k, v in missing.items())
            + (f" (min_active_trials = {u['min_active_trials']}; lower it with --min-active-trials)"
               if any(k.startswith("active in") for k in missing) else "") + ".</p>")
    out.append(_table(["unit", "population", "spikes", "rate (Hz)", "CV ISI", f"ISI < {u['refractory_ms']:g} ms",
                       "active trials", "IG", "p", "preferred", "P(active | pref.)"],
                      [[r["unit"], r["population"], r["n_spikes"], r["rate_hz"], r["cv_isi"], r["isi_violation_fraction"],
                        r["n_active_trials"], r["ig"], r["ig_p_value"], r["preferred"] or None, r["p_active_preferred"]]
                       for r in u["rows"]]))
    p = u.get("psth")
    if p and "psth" in s.get("figures", {}):
        out.append(f"<p>PSTH per condition ({len(p['class_names'])}: "
                   f"{html.escape(', '.join(p['class_names'][:20]))}{' ...' if len(p['class_names']) > 20 else ''}): "
                   f"{html.escape(p['definition'])}; {p['bin_ms']:g} ms bins.</p>" + _img(s, "psth", "PSTH per condition"))
    c = u.get("sttc")
    if c:
        out.append(f"<h3>STTC per condition</h3><p>{html.escape(c['definition'])}; {len(c['units'])} units (the most "
                   "active in the labelled trials); matrices in summary.json.</p>")
        out.append(_table(["condition", "trials", "mean STTC over pairs"],
                          [[name, n, m] for name, n, m in zip(c["class_names"], c["n_trials"], c["mean_pair"])]))
        if "sttc" in s.get("figures", {}):
            out.append(_img(s, "sttc", "STTC per condition"))
    return "\n".join(out)


def _signal_section(s):
    """Tuning curves against the named signal and their information (only when a signal is named)."""
    g = s["signal"]
    d = g["definitions"]
    out = [f"<h2>Tuning to {html.escape(g['name'])}</h2>",
           f"<p>Signal <code>{html.escape(g['name'])}</code> ({html.escape(g['unit'] or 'no unit')}, channel "
           f"{g['channel']}), {len(g['bin_edges']) - 1} equal bins. Spikes: {html.escape(g['spikes'])}. "
           f"Occupancy: {html.escape(d['occupancy'])}. Value of a spike: {html.escape(d['spike_value'])}. "
           f"Rate: {html.escape(d['rate'])}. <span class='eq'>{html.escape(d['information'])}</span>. "
           f"Null: {html.escape(d['null'])} ({g['n_shuffles']} shuffles, shifts of at least {g['min_shift_ms']:g} ms); "
           f"p = {html.escape(d['p_value'])}.</p>", _img(s, "tuning", "tuning curves")]
    out.append(_table(["unit", "peak rate (Hz)", "preferred bin", "preferred value", "bits/spike", "bits/s", "p"],
                      [[r["unit"], r["signal_peak_rate_hz"], r["signal_preferred_bin"], r["signal_preferred_value"],
                        r["signal_bits_per_spike"], r["signal_bits_per_s"], r["signal_info_p_value"]] for r in g["rows"]]))
    return "\n".join(out)


def _delays_section(s):
    """Transmission delays per matrix and E/I type, and the E/I structure statistics (only with delays)."""
    g = s["delays"]
    d = g["definitions"]
    out = ["<h2>Transmission delays and the spatio-temporal E/I structure</h2>",
           f"<p>{html.escape(d['delay'])}. Synapses counted: {html.escape(g['synapses'])}. Histograms: "
           f"{html.escape(d['histogram'])}, as fractions of each type's synapses.</p>", _img(s, "delays", "delay histograms"),
           _table(["matrix", "type", "synapses", "mean (ms)", "SD (ms)", "Q25", "median", "Q75", "min", "max"],
                  [[f"matrix {r['matrix']}", r["type"], r["n"], r["mean_ms"], r["sd_ms"], r["q25_ms"], r["median_ms"],
                    r["q75_ms"], r["min_ms"], r["max_ms"]] for r in g["by_type"]])]
    ei = g.get("ei_structure")
    if not ei:
        out.append("<p>No weights were given: the E/I structure statistics need them (pass <code>weights=</code>).</p>")
        return "\n".join(out)
    names = ["delta_delay_ms", "delta_delay_sd", "frac_inh_later", "moran_delay", "delay_w1_ms", "delay_ks",
             "delta_space", "moran_space"]
    out.append("<p>E/I structure of each matrix (Mészáros, Knight &amp; Nowotny 2024: excitation and inhibition "
               "&ldquo;group together in space and time&rdquo;; their statistic is not published, these are named "
               "definitions of it). Per postsynaptic unit over its active synapses; space = "
               + html.escape(", ".join(f"matrix {e['matrix']}: {e['space']}" for e in ei)) + ".</p><ul>"
               + "".join(f"<li><code>{n}</code>: {html.escape(d[n])}</li>" for n in names if n in d) + "</ul>"
               + "<p>Nulls (z = (observed - null mean) / null SD; permutation p = (1 + #as extreme) / (1 + n)): "
               + "; ".join(f"<b>{html.escape(k)}</b>: {html.escape(v)}" for k, v in g["nulls"].items()) + "."
               + ("" if g.get("initial") else " The third null, the network at initialisation, was not given "
                  "(<code>initial=</code>, the CLI's <code>--initial</code>; the trainer writes "
                  "<code>network_init.pt</code> beside <code>network.pt</code> for a network with delays).")
               + "</p>")
    for e in ei:
        tests = {(t["statistic"], t["null"]): t for t in e["tests"]}
        rows = []
        for n in names:
            if n not in e["summary"]:
                continue
            row = [n, e["summary"][n]]
            for null in g["null_names"]:
                t = tests.get((n, null))
                row += [None, None, None] if t is None else [t["null_mean"], t["z"], t["p"]]
            if "initial" in e:
                row += [e["initial"].get(n), e["change_from_initial"].get(n)]
            rows.append(row)
        out.append(f"<p>Matrix {e['matrix']}: mean active E / I synapses per unit {e['n_exc_mean']:.1f} / "
                   f"{e['n_inh_mean']:.1f}; |W|-weighted mean delay E {_f(e['delay_mean_exc_ms'])} ms, I "
                   f"{_f(e['delay_mean_inh_ms'])} ms.</p>")
        out.append(_table(["statistic", "observed"] + [f"{null} {k}" for null in g["null_names"]
                                                        for k in ("mean", "z", "p")]
                          + (["initial (at init)", "observed - initial"] if "initial" in e else []), rows))
    ao = g.get("arrival_order")
    if ao:
        out.append("<p>Arrival order of E and I inputs within a trial: spikes = " + html.escape(ao["spikes"])
                   + ". <code>delta_arrival_ms</code>: " + html.escape(d["delta_arrival_ms"])
                   + "; <code>frac_inh_later_arrival</code>: " + html.escape(d["frac_inh_later_arrival"])
                   + ". Nulls: " + html.escape(ao["nulls"]) + ".</p>")
        rows = []
        for m in ao["matrices"]:
            tests = {(t["statistic"], t["null"]): t for t in m["tests"]}
            for n in ("delta_arrival_ms", "frac_inh_later_arrival"):
                row = [f"matrix {m['matrix']}", n, m["summary"][n], m["summary"]["n_pairs"], m["n_trials"]]
                for null in g["null_names"]:
                    t = tests.get((n, null))
                    row += [None, None, None] if t is None else [t["null_mean"], t["z"], t["p"]]
                rows.append(row)
        out.append(_table(["matrix", "statistic", "observed", "(trial, unit) pairs", "trials"]
                          + [f"{null} {k}" for null in g["null_names"] for k in ("mean", "z", "p")], rows))
    return "\n".join(out)


def render_html(summary, meta=None):
    """The report page as a string."""
    s, meta = summary, dict(meta or {})
    h = ["<!DOCTYPE html><html><head><meta charset='utf-8'><title>synsem_ephys report</title>",
         f"<style>{_CSS}</style></head><body>", "<h1>Synchronisation and semantisation report</h1>"]
    h.append(f"<p>Recording <code>{html.escape(str(s.get('source') or meta.get('source', '')))}</code>: "
             f"{s['n_units']} units, {s['n_trials']} trials of {s['trial_duration_ms']:g} ms, {s['n_spikes']} spikes. "
             f"Groups: {html.escape(', '.join(s['groups']))}. "
             f"Accuracy: {_f(s['accuracy'])}. Written {datetime.datetime.now().isoformat(timespec='seconds')}.</p>")
    # ---- checks
    h.append("<h2>What this recording shows</h2><p>Expected effects from Kurth, Oberste-Frielinghaus et al. (2025), "
             "checked on this recording with the analyses below. A check is not tuned to pass: "
             "<span class='no'>not shown</span> means the data do not show the effect with these settings.</p><ul>")
    for c in s["checks"]:
        cls, word = ("yes", "shown") if c["passed"] is True else (("no", "not shown") if c["passed"] is False
                                                                 else ("na", "cannot tell"))
        h.append(f"<li><b>{html.escape(c['statement'])}</b> <code>{html.escape(c['name'])}</code>: "
                 f"<span class='{cls}'>{word}</span>. {html.escape(c['detail'])}"
                 + (f"<br><small>Definitions: {html.escape(c['definition'])}</small>" if c.get("definition") else "")
                 + "</li>")
    h.append("</ul>")
    if "accuracy" in s.get("figures", {}):
        h.append("<h2>Classification</h2>" + _img(s, "accuracy", "confusion matrix"))
    if s.get("units"):
        h.append(_units_section(s))
    if s.get("signal"):
        h.append(_signal_section(s))
    if s.get("delays"):
        h.append(_delays_section(s))
    # ---- synchrony
    d = s["dispersion"]
    layered = s.get("has_layers", True)
    h.append(("<h2>Synchronisation across depth</h2>" if layered else "<h2>Synchronisation per group</h2>")
             + "<p>Per group (" + ("layer" if layered else "population") + ") and trial: the spread of the spike "
             "times of its units, for all spikes and for the "
             f"<i>packet</i> ({html.escape(d['packet_definition'])}). "
             "<span class='eq'>SD = sqrt(sum (t_i - mean)^2 / (n - 1)); IQR = Q75 - Q25</span>. "
             "Pulse-packet parameters: a = spikes in the packet (mean over trials), sigma = median over trials of the "
             "packet's SD, and the SD pooled over trials (all packet spikes of the layer as one sample; ddof "
             f"{d.get('ddof', 1)}); the checks use the {html.escape(str(d.get('spread_used_by_checks', 'median')))} "
             "spread." + (" A volley that spreads out in early layers and re-converges later shows sigma rising, then "
                          "falling with depth." if layered else " The recording has no layers: no plots across depth.")
             + "</p>")
    h.append(_img(s, "raster", "raster per layer") + _img(s, "dispersion", "dispersion vs layer"))
    rows = [[r["group"], r["n_units"], r.get("packet_a_mean"), r.get("packet_a_fraction"), r.get("packet_sigma_ms_median"),
             r.get("packet_sigma_ms_pooled"), r.get("packet_iqr_ms_median"), r.get("packet_median_ms"),
             r["all_sd_ms_median"], r["all_iqr_ms_median"], r["all_median_ms"]] for r in d["by_group"]]
    h.append(_table(["group", "units", "packet a", "a / units", "packet sigma (ms)", "packet SD pooled (ms)",
                     "packet IQR (ms)", "packet median t (ms)", "all SD (ms)", "all IQR (ms)", "all median t (ms)"], rows))
    c = s.get("complexity")
    if c:
        h.append(f"<p>Cross-check with Elephant (<code>elephant.statistics.Complexity</code>, {c['bin_ms']:g} ms bins, "
                 f"{len(c['trials'])} trials): peak complexity = most units of a group firing in one bin; "
                 f"Elephant and an independent numpy count agree: <b>{c['elephant_agrees_with_numpy']}</b>.</p>")
        h.append(_table(["group", "peak complexity", "peak / spikes", "mean spike complexity"],
                        [[g, a, b, m] for g, a, b, m in zip(c["groups"], c["peak_complexity_mean"],
                                                            c["peak_fraction_mean"], c["mean_spike_complexity"])]))
    # ---- information
    for key, title in (("information", "Semantisation: information gain"),
                       ("information_secondary", "Information gain under a secondary definition (not judged)")):
        ig = s.get(key)
        if not ig:
            continue
        h.append(f"<h2>{title}</h2>")
        if key == "information":
            h.append("<p><span class='eq'>IG = (H(C) - H(C | active)) / H(C)</span>: 1 = the unit is active for one class "
                     "only, 0 = its activity says nothing about the class. ")
        else:
            h.append("<p>")
        h.append(f"Active = {html.escape(ig['definition'])}; H(C) = {ig['h_class_bits']:.3f} bits over {ig['n_trials']} "
                 f"trials, {ig['n_classes']} classes; units active in fewer than {ig['min_active_trials']} trials are left "
                 f"out; bias correction: {html.escape(ig['correction'])}"
                 + (f" ({ig['n_shuffles']} label shuffles: (IG - IG_null) / (1 - IG_null))" if ig['n_shuffles'] else "")
                 + ".</p>")
        if key == "information":
            h.append(_img(s, "information", "IG histograms"))
        h.append(_table(["group", "cell type", "units", "valid", "median IG", "Q25", "Q75", "mean", "p < 0.05"],
                        [[g["group"], g["cell_type"], g["n_units"], g["n_valid"], g["median"], g["q25"], g["q75"],
                          g["mean"], g["frac_significant"]] for g in ig["by_group"]]))
    # ---- pathways
    p = s.get("pathways")
    if p:
        h.append("<h2>Class pathways</h2>"
                 f"<p>Excitatory units with strong excitatory influence on each output neuron ({html.escape(p['method'])}, "
                 f"{html.escape(p['parameters'])}), found back from the output through the layers. Overlap = mean "
                 "pairwise Jaccard index between the classes' pathways, beside its value for random sets of the same "
                 "sizes. Activity: P(active | own class) vs the mean over other classes for pathway units."
                 + ("" if p["dale"] else " (No Dale's law: every unit counted as excitatory.)") + "</p>")
        h.append(_img(s, "pathways", "pathway overlap"))
        own = p["activity_own"] or [None] * len(p["layers"])
        oth = p["activity_other"] or [None] * len(p["layers"])
        nd = p.get("null") or {}
        nq = nd.get("overlap_null_q05") or [None] * len(p["layers"])
        sel = nd.get("selectivity") or [None] * len(p["layers"])
        sq = nd.get("selectivity_null_q95") or [None] * len(p["layers"])
        if nd:
            h.append(f"<p>Null: {nd['n_shuffles']} Dale-preserving weight shuffles (each matrix's entries permuted within "
                     "its E rows, its I rows and its unconstrained rows), pathways found again with the same method; "
                     f"selectivity = P(active | own) / P(active | other), active = {html.escape(nd['definition'])}.</p>")
        h.append(_table(["hidden layer", "E units", "mean size", "Jaccard", "chance", "null 5th pct",
                         "P(act | own)", "P(act | other)", "selectivity", "null 95th pct"],
                        [[f"layer {l}", n, m, j, cj, nj, a, b, se, sqq] for l, n, m, j, cj, nj, a, b, se, sqq in
                         zip(p["layers"], p["n_excitatory"], p["mean_size"], p["mean_jaccard"], p["chance_jaccard"],
                             nq, own, oth, sel, sq)]))
        alt = p.get("alternative")
        if alt:
            h.append(f"<p>Second method ({html.escape(alt['method'])}, same parameter): mean Jaccard "
                     f"{html.escape(str([None if v is None else round(v, 3) for v in alt['mean_jaccard']]))}, chance "
                     f"{html.escape(str([None if v is None else round(v, 3) for v in alt['chance_jaccard']]))}, mean size "
                     f"{html.escape(str([None if v is None else round(v, 1) for v in alt['mean_size']]))}. "
                     "Products of rectified weight matrices act like a power iteration: far from the output, the "
                     "influence of every class tends to the same dominant direction, so high overlap in early layers "
                     "is partly a property of the measure; compare with chance and with an untrained network.</p>")
        if s.get("graphml"):
            h.append(f"<p>Pathway graph for other tools: <a href='{html.escape(s['graphml'])}'>{html.escape(s['graphml'])}</a> (GraphML).</p>")
    h.append(f"<h2>Files</h2><p>Machine-readable summary: <a href='summary.json'>summary.json</a>. "
             f"Run time per step (s): {html.escape(str(s.get('seconds')))}</p></body></html>")
    return "\n".join(h)
