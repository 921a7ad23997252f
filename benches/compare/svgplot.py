"""A minimal log-log line plot in SVG (python3 stdlib only) for the scaling curves."""

import math
from xml.sax.saxutils import escape

COLORS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"]
W, H = 460, 320  # one panel
ML, MR, MT, MB = 64, 16, 34, 46  # margins


def _decades(lo, hi):
    a, b = math.floor(math.log10(lo)), math.ceil(math.log10(hi))
    if a == b:
        b += 1
    return a, b


def panel(p, ox, oy):
    """SVG elements of one panel at offset (ox, oy)."""
    pts = [xy for _, s in p["series"] for xy in s if xy[0] > 0 and xy[1] > 0]
    out = [f'<g transform="translate({ox},{oy})">',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="14" font-weight="bold">'
           f'{escape(p["title"])}</text>']
    pw, ph = W - ML - MR, H - MT - MB
    out.append(f'<rect x="{ML}" y="{MT}" width="{pw}" height="{ph}" fill="none" stroke="#444"/>')
    if not pts:
        out.append(f'<text x="{W / 2}" y="{H / 2}" text-anchor="middle">no data</text></g>')
        return out
    x0, x1 = _decades(min(x for x, _ in pts), max(x for x, _ in pts))
    y0, y1 = _decades(min(y for _, y in pts), max(y for _, y in pts))

    def px(x):
        return ML + (math.log10(x) - x0) / (x1 - x0) * pw

    def py(y):
        return MT + ph - (math.log10(y) - y0) / (y1 - y0) * ph

    for d in range(x0, x1 + 1):
        x = px(10 ** d)
        out.append(f'<line x1="{x:.1f}" y1="{MT}" x2="{x:.1f}" y2="{MT + ph}" stroke="#ddd"/>')
        out.append(f'<text x="{x:.1f}" y="{MT + ph + 16}" text-anchor="middle" font-size="11">{_tick(d)}</text>')
    for d in range(y0, y1 + 1):
        y = py(10 ** d)
        out.append(f'<line x1="{ML}" y1="{y:.1f}" x2="{ML + pw}" y2="{y:.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{ML - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11">{_tick(d)}</text>')
    out.append(f'<text x="{ML + pw / 2}" y="{H - 8}" text-anchor="middle" font-size="12">'
               f'{escape(p["xlabel"])} (log)</text>')
    out.append(f'<text transform="translate(14,{MT + ph / 2}) rotate(-90)" text-anchor="middle" '
               f'font-size="12">{escape(p["ylabel"])} (log)</text>')
    for i, (name, s) in enumerate(p["series"]):
        s = sorted(xy for xy in s if xy[0] > 0 and xy[1] > 0)
        if not s:
            continue
        color = COLORS[i % len(COLORS)]
        # Linear growth through the first point: y = y_first * x / x_first, clipped to the box.
        (fx, fy), lx = s[0], s[-1][0]
        if len(s) > 1 and p.get("linear_ref", True):
            ly = fy * lx / fx
            if ly > 10 ** y1:
                lx, ly = fx * 10 ** y1 / fy, 10 ** y1
            out.append(f'<line x1="{px(fx):.1f}" y1="{py(fy):.1f}" x2="{px(lx):.1f}" y2="{py(ly):.1f}" '
                       f'stroke="#999" stroke-dasharray="4 3"/>')
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in s)
        out.append(f'<polyline points="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        for x, y in s:
            out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3.5" fill="{color}">'
                       f'<title>{escape(name)}: {x:g}, {y:.3g}</title></circle>')
        out.append(f'<rect x="{ML + 10}" y="{MT + 10 + 18 * i}" width="12" height="3" fill="{color}"/>')
        out.append(f'<text x="{ML + 28}" y="{MT + 15 + 18 * i}" font-size="12">{escape(name)}</text>')
    out.append("</g>")
    return out


def _tick(d):
    v = 10.0 ** d
    if d >= 6:
        return f"{v / 1e6:g}M"
    if d >= 3:
        return f"{v / 1e3:g}k"
    return f"{v:g}"


def grid(panels, title, subtitle):
    cols = 2
    rows = (len(panels) + cols - 1) // cols
    width, height = cols * W, rows * H + 50
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" font-family="sans-serif">',
           f'<rect width="{width}" height="{height}" fill="white"/>',
           f'<text x="{width / 2}" y="22" text-anchor="middle" font-size="16" font-weight="bold">{escape(title)}</text>',
           f'<text x="{width / 2}" y="40" text-anchor="middle" font-size="11" fill="#555">{escape(subtitle)}</text>']
    for i, p in enumerate(panels):
        out += panel(p, (i % cols) * W, 50 + (i // cols) * H)
    out.append("</svg>")
    return "\n".join(out) + "\n"
