"""Markdown report and scaling plot for benches/compare (from the results dict of bench.py)."""

import svgplot

MIB, GIB = 1 << 20, 1 << 30
GM = "glassmaster"


def fmt_s(v):
    if v is None:
        return "—"
    return f"{v:.3f}" if v < 1 else f"{v:.2f}" if v < 100 else f"{v:.0f}"


def fmt_mib(v):
    return "—" if v is None else f"{v / MIB:.1f}" if v < 10 * MIB else f"{v / MIB:.0f}"


def fmt_ratio(v):
    return "—" if v is None else f"{v:.2f}x"


def human_bytes(n):
    for unit, size in (("GiB", GIB), ("MiB", MIB)):
        if n >= size:
            v = n / size
            return f"{v:.0f} {unit}" if v == int(v) or v >= 100 else f"{v:.1f} {unit}"
    return f"{n} B"


def cell(text):
    """Text for a markdown table cell."""
    return text.replace("|", "\\|")


def by_name(cases):
    return {c["name"]: c for c in cases}


def ratio(a, b):
    return a / b if a is not None and b else None


def check(ok):
    return "—" if ok is None else ("**pass**" if ok else "**FAIL**")


def render(res, svg_rel):
    m = res["machine"]
    out = []
    quick = res["mode"] != "full"
    title = "Results" if not quick else f"Results ({res['mode']} size, sample run)"
    out.append(f"## {title}\n")
    if quick:
        out.append(f"> **Sample, not a measurement of record:** mode `{res['mode']}` (every workload "
                   f"divided by {res['factor']}), {res['runs']} runs, load average at start "
                   f"{m['load_start']}. Absolute figures and pass/fail against the targets mean "
                   f"little here; the full run (`benches/compare/run.sh --full`) on a quiet "
                   f"machine replaces this section.\n")
    out.append(f"Run {res['started']}, {res.get('duration_s', 0) / 60:.1f} min: `{res['command']}` "
               f"({res['runs']} timed runs per case after one untimed warm-up run, alternating; "
               f"times are medians, RSS the maximum over the timed runs).\n")
    out.append("### Machine and tools\n")
    out.append(f"- CPU: {m['cpu']}, {m['nproc']} cores; memory {m['memory']}; kernel {m['kernel']}")
    out.append(f"- file system: {m['fs']}")
    out.append(f"- peak RSS measured with {m.get('rss_method', '?')}")
    out.append(f"- load average at start {m['load_start']}, at end {res.get('load_end', '?')}")
    for k, v in m["versions"].items():
        out.append(f"- {k}: {v if v else 'not found'}")
    caps = res["caps"]
    out.append(f"- glassmaster CLI capabilities found: stream to stdout (`-o -`) "
               f"{'yes' if caps['stdout'] else '**no**'}, `--udf` {'yes' if caps['udf'] else 'no'}, "
               f"`--no-dedup` {'yes' if caps['no_dedup'] else 'no'}, `map` {'yes' if caps['map'] else 'no'}")
    if res.get("hadris_error") and res["hadris_error"] != "not requested":
        out.append(f"- hadris-iso driver: {res['hadris_error']}")
    out.append("")

    if res["workloads"]:
        out += render_summary(res)
    variants = []
    for w, wl in res["workloads"].items():
        out += render_workload(w, wl, res)
        if any(c["kind"] == "variant" for c in wl["cases"]):
            variants.append((w, wl))
    if variants:
        out += render_variants(variants)
    if res["scaling"]:
        out += render_scaling(res, svg_rel)
    return "\n".join(out) + "\n"


def render_summary(res):
    """One line per workload: glassmaster's time and RSS, and its time ratio to everyone."""
    out = ["### Summary\n",
           "glassmaster time / other time (below 1: glassmaster is faster); targets: item 2 of "
           "issue 7, detailed under each workload.\n",
           "| workload | glassmaster s | peak RSS MiB | / genisoimage | / xorriso | / hadris-iso | "
           "/ cat into one file | targets passed |",
           "|---|---:|---:|---:|---:|---:|---:|---|"]
    for w, wl in res["workloads"].items():
        c = by_name(wl["cases"])
        gm = c.get(GM) or {}
        t = gm.get("median")
        med = lambda name: (c.get(name) or {}).get("median")  # noqa: E731
        rows = targets_for(w, wl, c, res)
        judged = [ok for _, _, ok in rows if ok is not None]
        out.append(f"| {w} | {fmt_s(t)} | {fmt_mib(gm.get('peak_rss'))} | "
                   + " | ".join(fmt_ratio(ratio(t, med(n))) for n in
                                ("genisoimage", "xorriso", "hadris-iso",
                                 "floor: cat every file into one file"))
                   + f" | {sum(judged)} of {len(judged)}"
                   + (f" ({len(rows) - len(judged)} not measured)" if len(rows) > len(judged) else "")
                   + " |")
    out.append("")
    return out


def render_workload(w, wl, res):
    cases = wl["cases"]
    c = by_name(cases)
    gm = c.get(GM, {})
    gm_t, gm_r = gm.get("median"), gm.get("peak_rss")
    size = wl["bytes"]
    out = [f"### {w}: {wl['desc']}, {size / 1e6:,.0f} MB of data\n"]
    if wl.get("runs", res["runs"]) != res["runs"]:
        out.append(f"{wl['runs']} timed runs per case here (`--runs-for {w}={wl['runs']}`).\n")
    out.append("| case | median s | min-max s | CPU s (user+sys) | peak RSS MiB | image MB | glassmaster time / this | glassmaster RSS / this |")
    out.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    for x in cases:
        if x["kind"] == "variant":
            continue
        t, r = x["median"], x["peak_rss"]
        if x["error"]:
            out.append(f"| {cell(x['name'])} | — | — | — | — | — | — | — |")
            continue
        span = f"{min(x['times']):.2f}-{max(x['times']):.2f}" if x["times"] else "—"
        img = f"{x['image_bytes'] / 1e6:,.0f}" if x["image_bytes"] else ""
        same = x["name"] == GM
        out.append(f"| {cell(x['name'])} | {fmt_s(t)} | {span} | {fmt_s(x.get('median_cpu'))} | "
                   f"{fmt_mib(r)} | {img} | "
                   f"{'' if same or x['kind'] == 'extra' else fmt_ratio(ratio(gm_t, t))} | "
                   f"{'' if same or x['kind'] != 'tool' else fmt_ratio(ratio(gm_r, r))} |")
    out.append("")
    notes = [f"- {x['name']}: `{x['command']}`" + (f" ({x['note']})" if x["note"] else "")
             for x in cases if x["command"] and x["kind"] != "variant"]
    errors = [f"- {x['name']}: {x['error']}" for x in cases if x["error"]]
    if w in ("W3", "W3b") and not res["caps"]["stdout"]:
        errors.append("- glassmaster stream to /dev/null: not measured, the CLI cannot write the "
                      "image to standard output (`-o -`); `-o /dev/null` would replace /dev/null")
    targets = targets_for(w, wl, c, res)
    if targets:
        out.append("Targets of issue 7, item 2:\n")
        out.append("| target | measured | |")
        out.append("|---|---|---|")
        out += [f"| {t} | {m} | {check(ok)} |" for t, m, ok in targets]
        out.append("")
    if errors:
        out.append("Not measured or failed:\n")
        out += errors
        out.append("")
    out.append("<details><summary>Commands</summary>\n")
    out += notes
    out.append("\n</details>\n")
    return out


def targets_for(w, wl, c, res):
    gm = c.get(GM)
    if not gm or gm["median"] is None:
        return []
    t, rss = gm["median"], gm["peak_rss"]
    med = lambda name: (c.get(name) or {}).get("median")  # noqa: E731
    rows = []

    def faster(tool, factor):
        other = med(tool)
        r = ratio(other, t)
        rows.append((f"at least {factor}x faster than {tool}",
                     f"{r:.2f}x" if r else "not measured", None if r is None else r >= factor))

    if w == "W1":
        cat = med("floor: cat every file into one file")
        r = ratio(t, cat)
        rows.append(("within 1.2x of cat into one file", fmt_ratio(r), None if r is None else r <= 1.2))
        faster("genisoimage", 2.5)
        faster("xorriso", 6)
        faster("hadris-iso", 2)
        others = [(x["name"], x["peak_rss"]) for x in c.values()
                  if x["kind"] == "tool" and x["name"] != GM and x["peak_rss"]]
        if others:
            low = min(r for _, r in others)
            rows.append(("lowest peak RSS of all", f"{rss / MIB:.0f} MiB vs lowest other "
                         f"{low / MIB:.0f} MiB", rss < low))
    elif w == "W2":
        stat = med("floor: find -printf stat walk")
        mp = med("glassmaster map (scan + layout, no data)")
        r = ratio(mp, stat)
        rows.append(("scan + layout (`map --no-dedup`) within 1.3x of the stat walk",
                     fmt_ratio(r) if r else "not measured", None if r is None else r <= 1.3))
        cat = med("floor: cat every file into one file")
        r = ratio(t, cat)
        rows.append(("whole build within 1.3x of read-all (cat into one file)", fmt_ratio(r),
                     None if r is None else r <= 1.3))
        per = rss / wl["files"]
        rows.append(("peak RSS under 250 bytes per file", f"{per:.0f} bytes per file", per < 250))
    elif w in ("W3", "W3b"):
        cat = med("floor: cat every file into one file")
        r = ratio(cat, t)
        mbs = wl["bytes"] / t / 1e6
        rows.append(("throughput at least 0.9x of cat into one file",
                     f"{r:.2f}x ({mbs:,.0f} MB/s)" if r else "—", None if r is None else r >= 0.9))
        stream = med("glassmaster -o - > /dev/null")
        null = med("floor: cat every file > /dev/null")
        r = ratio(null, stream)
        rows.append(("image stream into /dev/null at least 0.9x of cat into /dev/null",
                     f"{r:.2f}x" if r else "not measured (no `-o -`)", None if r is None else r >= 0.9))
        rows.append(("peak RSS under 32 MiB", f"{rss / MIB:.1f} MiB", rss < 32 * MIB))
    return rows


def render_variants(variants):
    out = ["### UDF and deduplication (issue 7, item 5)\n",
           "Ratios are to the ISO 9660 + Joliet + Rock Ridge build without deduplication "
           "(`--no-dedup`), the \"ISO-only\" figure; target: at most 1.3x, in time and in peak RSS.\n",
           "| workload | variant | median s | peak RSS MiB | time / ISO-only | RSS / ISO-only | target |",
           "|---|---|---:|---:|---:|---:|---|"]
    for w, wl in variants:
        c = by_name(wl["cases"])
        base = c.get("glassmaster --no-dedup")
        if not base or base["median"] is None:
            continue
        rows = [("ISO+J+RR, no dedup (`--no-dedup`)", base),
                ("ISO+J+RR, dedup (default)", c.get(GM)),
                ("ISO+J+RR+UDF, no dedup (`--udf --no-dedup`)", c.get("glassmaster --udf --no-dedup")),
                ("ISO+J+RR+UDF, dedup (`--udf`)", c.get("glassmaster --udf"))]
        for label, x in rows:
            if not x or x["median"] is None:
                out.append(f"| {w} | {label} | — | — | — | — | {('not measured: ' + x['error'][:80]) if x and x['error'] else 'not measured'} |")
                continue
            r = ratio(x["median"], base["median"])
            rr = ratio(x["peak_rss"], base["peak_rss"])
            out.append(f"| {w} | {label} | {fmt_s(x['median'])} | {fmt_mib(x['peak_rss'])} | "
                       f"{fmt_ratio(r)} | {fmt_ratio(ratio(x['peak_rss'], base['peak_rss']))} | "
                       f"{'' if x is base else check(r <= 1.3 and (rr is None or rr <= 1.3))} |")
    out.append("")
    return out


def render_scaling(res, svg_rel):
    out = ["### Scaling (issue 7, item 4)\n"]
    sc = res["scaling"]
    if "files" in sc:
        out.append("Number of files: W2-like trees (half empty, half 1-64 bytes, 100 files per "
                   "directory), `-J -R`, image written to a file.\n")
        out.append("| files | glassmaster s | µs per file | peak RSS MiB | bytes per file | genisoimage s | genisoimage RSS MiB |")
        out.append("|---:|---:|---:|---:|---:|---:|---:|")
        for p in sc["files"]:
            c = by_name(p["cases"])
            g, s = c.get(GM, {}), c.get("genisoimage", {})
            t, r = g.get("median"), g.get("peak_rss")
            out.append(f"| {p['x']:,} | {fmt_s(t)} | {t / p['x'] * 1e6:.1f} | {fmt_mib(r)} | "
                       f"{r / p['x']:.0f} | {fmt_s(s.get('median'))} | {fmt_mib(s.get('peak_rss'))} |"
                       if t is not None else f"| {p['x']:,} | — | — | — | — | — | — |")
        out.append("")
    if "data" in sc:
        out.append("Bytes of data: one sparse file (`truncate -s`; it reads as zeros from no "
                   "disk blocks, so reading it costs no disk I/O), `-J -R`.\n")
        out.append("| data | how | glassmaster s | MB/s | peak RSS MiB |")
        out.append("|---:|---|---:|---:|---:|")
        for p in sc["data"]:
            g = p["cases"][0]
            t = g.get("median")
            how = g.get("note") or ""
            if t is None:
                out.append(f"| {human_bytes(p['x'])} | {how} | — | — | — |")
                continue
            out.append(f"| {human_bytes(p['x'])} | {how} | {fmt_s(t)} | {p['x'] / t / 1e6:,.0f} | "
                       f"{fmt_mib(g['peak_rss'])} |")
        if any((p["cases"][0].get("note") or "") == "to a file" for p in sc["data"]):
            out.append("")
            out.append("Points written to a file (the CLI cannot stream the image to standard "
                       "output) include the disk's write speed once the page cache's dirty limit "
                       "is passed; streamed to /dev/null they would measure glassmaster alone.")
        errors = [f"- {human_bytes(p['x'])}: {p['cases'][0]['error']}" for p in sc["data"]
                  if p["cases"][0].get("error")]
        if errors:
            out.append("")
            out += errors
        out.append("")
    out.append(f"![time and peak RSS against files and bytes, log-log]({svg_rel})\n")
    return out


def scaling_svg(res):
    sc = res.get("scaling") or {}
    panels = []

    def series(points, tool, key, scale):
        xs = []
        for p in points:
            c = by_name(p["cases"]).get(tool)
            if c and c.get(key) is not None:
                xs.append((p["x"], c[key] / scale))
        return xs

    if sc.get("files"):
        pts = sc["files"]
        panels.append(dict(title="Time vs number of files (W2-like)", xlabel="files", ylabel="seconds",
                           series=[(GM, series(pts, GM, "median", 1)),
                                   ("genisoimage", series(pts, "genisoimage", "median", 1))]))
        panels.append(dict(title="Peak RSS vs number of files", xlabel="files", ylabel="MiB",
                           linear_ref=False,
                           series=[(GM, series(pts, GM, "peak_rss", MIB)),
                                   ("genisoimage", series(pts, "genisoimage", "peak_rss", MIB))]))
    if sc.get("data"):
        pts = [dict(p, x=p["x"] / GIB) for p in sc["data"]]
        panels.append(dict(title="Time vs bytes of data (sparse file)", xlabel="GiB", ylabel="seconds",
                           series=[(GM, series(pts, GM, "median", 1))]))
        panels.append(dict(title="Peak RSS vs bytes of data", xlabel="GiB", ylabel="MiB",
                           linear_ref=False,
                           series=[(GM, series(pts, GM, "peak_rss", MIB))]))
    if not panels:
        return None
    sub = f"mode {res['mode']}, {res['started']}; dashed grey (time panels): linear growth through the first point"
    return svgplot.grid(panels, "glassmaster scaling (issue 7, item 4)", sub)
