"""Charts of the report pages, drawn on the server as inline SVG: they print, they work without
script, and a test can read their numbers (each mark carries ``data-`` attributes).

Three kinds, each a pure function from figures to markup:

- ``rate_bars``: one horizontal bar per line (regions, cities, halls, staff), the rate as its
  length from 0 to 100 %, an optional reference (the level above's rate) as a dashed line; a bar
  below the reference is marked ``low``; a bar with a link drills down.
- ``band_bars``: one vertical bar per waiting-time band: how satisfaction falls as waits grow.
- ``trend``: a rate per day as a line (gaps where a day had no ratings) over light bars of the
  day's ratings.
"""
from __future__ import annotations

from dataclasses import dataclass
from math import floor

from markupsafe import Markup, escape


@dataclass(frozen=True)
class Bar:
    label: str
    rate: float | None        # 0-1; None: no ratings
    ratings: int
    href: str | None = None
    note: str = ""            # the hover text's second line


def pct(rate: float | None, digits: int = 1) -> str:
    return "—" if rate is None else f"{100 * rate:.{digits}f}%"


def _attrs(**attrs) -> str:
    return " ".join(f'{k.rstrip("_").replace("_", "-")}="{escape(v)}"' for k, v in attrs.items() if v is not None)


def _tag(name: str, content: str = "", **attrs) -> str:
    attrs_ = _attrs(**attrs)
    return f"<{name}{' ' if attrs_ else ''}{attrs_}>{content}</{name}>"


def _short(text: str, limit: int) -> str:
    """A label cut to ``limit`` display columns (a Chinese character counts two)."""
    width, out = 0, []
    for ch in text:
        width += 2 if ord(ch) > 0x2E80 else 1
        if width > limit:
            return "".join(out) + "…"
        out.append(ch)
    return text


def _hover(label: str, rate: float | None, note: str) -> str:
    return _tag("title", escape(" · ".join(x for x in (f"{label}: {pct(rate, 2)}", note) if x)))


def rate_bars(bars: list[Bar], reference: float | None = None, reference_label: str = "",
              empty: str = "", width: int = 1100, label_columns: int = 28) -> Markup:
    """Horizontal bars, best first as given; ``reference`` draws the dashed line bars are judged by."""
    row, top, left, right = 26, 22, 7 * label_columns + 16, 64
    height = top + row * max(len(bars), 1) + 8
    plot = width - left - right
    parts = [f'<svg class="chart-svg rate-bars" viewBox="0 0 {width} {height}" role="img" '
             f'data-bars="{len(bars)}" preserveAspectRatio="xMinYMin meet">']
    for v in (0, 0.25, 0.5, 0.75, 1):
        x = left + v * plot
        parts.append(_tag("line", class_="grid", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=top - 4, y2=height - 8))
        parts.append(_tag("text", f"{int(v * 100)}%", class_="tick", x=f"{x:.1f}", y=top - 8, text_anchor="middle"))
    if not bars:
        parts.append(_tag("text", escape(empty), class_="empty", x=left + plot / 2, y=top + 18, text_anchor="middle"))
    for i, b in enumerate(bars):
        y = top + i * row
        low = reference is not None and b.rate is not None and b.rate < reference
        title = _hover(b.label, b.rate, b.note)
        mark = [_tag("text", escape(_short(b.label, label_columns)), class_="label", x=left - 8, y=y + 17,
                     text_anchor="end")]
        if b.rate is not None:
            mark.append(_tag("rect", class_="bar low" if low else "bar", x=left, y=y + 4,
                             width=f"{max(b.rate * plot, 1):.1f}", height=row - 8, rx=2))
        mark.append(_tag("text", pct(b.rate), class_="value", x=f"{left + (b.rate or 0) * plot + 6:.1f}", y=y + 17))
        group = _tag("g", title + "".join(mark), class_="mark", data_label=b.label,
                     data_rate="" if b.rate is None else f"{b.rate:.6f}", data_ratings=b.ratings)
        parts.append(_tag("a", group, href=b.href) if b.href else group)
    if reference is not None:
        x = left + reference * plot
        parts.append(_tag("line", class_="reference", x1=f"{x:.1f}", x2=f"{x:.1f}", y1=top - 2, y2=height - 8))
        parts.append(_tag("text", escape(f"{reference_label} {pct(reference)}"), class_="reference-label",
                          x=f"{x - 4:.1f}", y=height - 1, text_anchor="end"))
    parts.append("</svg>")
    return Markup("".join(parts))


def band_bars(bands: list[Bar], empty: str = "", width: int = 520, height: int = 220) -> Markup:
    """Vertical bars, one per waiting-time band in order, the rate on a 0-100 % axis."""
    left, right, top, bottom = 40, 8, 18, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [f'<svg class="chart-svg band-bars" viewBox="0 0 {width} {height}" role="img" data-bars="{len(bands)}">']
    _y_grid(parts, [(v, f"{int(v * 100)}%") for v in (0, 0.2, 0.4, 0.6, 0.8, 1)], left, width - right, top, plot_h)
    if not bands:
        parts.append(_tag("text", escape(empty), class_="empty", x=left + plot_w / 2, y=top + plot_h / 2,
                          text_anchor="middle"))
    slot = plot_w / max(len(bands), 1)
    for i, b in enumerate(bands):
        cx = left + slot * (i + 0.5)
        bar_w = min(slot * 0.6, 70)
        mark = [_hover(b.label, b.rate, b.note)]
        if b.rate is not None:
            y = top + plot_h * (1 - b.rate)
            mark.append(_tag("rect", class_="bar", x=f"{cx - bar_w / 2:.1f}", y=f"{y:.1f}", width=f"{bar_w:.1f}",
                             height=f"{plot_h * b.rate:.1f}", rx=2))
            mark.append(_tag("text", pct(b.rate), class_="value", x=f"{cx:.1f}", y=f"{y - 4:.1f}", text_anchor="middle"))
        mark.append(_tag("text", escape(b.label), class_="tick", x=f"{cx:.1f}", y=height - bottom + 16,
                         text_anchor="middle"))
        mark.append(_tag("text", escape(b.note), class_="tick small", x=f"{cx:.1f}", y=height - bottom + 31,
                         text_anchor="middle"))
        parts.append(_tag("g", "".join(mark), class_="mark", data_label=b.label,
                          data_rate="" if b.rate is None else f"{b.rate:.6f}", data_ratings=b.ratings))
    parts.append("</svg>")
    return Markup("".join(parts))


def trend(points: list[Bar], empty: str = "", width: int = 720, height: int = 220) -> Markup:
    """A rate per day (``label``: the day, shown as MM-DD) as a line over bars of the day's ratings.
    The rate axis starts below the lowest day (at 0, 20, 40, 60 or 80 %), said on the axis."""
    rated = [p.rate for p in points if p.rate is not None]
    lo = min(max(floor((min(rated) - 0.02) * 5) / 5, 0.0), 0.8) if rated else 0.0  # a fifth: ticks of 5 or 10 %
    ticks = [(k / 4, pct(lo + (1 - lo) * k / 4, 0)) for k in range(5)]
    days = [(p.label, None if p.rate is None else (p.rate - lo) / (1 - lo), p.ratings,
             " · ".join(x for x in (f"{p.label}: {pct(p.rate, 2)}", p.note) if x),
             None if p.rate is None else f"{p.rate:.6f}") for p in points]
    return _days_chart(days, ticks, empty, width, height, {"data-rated": len(rated)}, "data-rate")


def _days_chart(days: list[tuple], ticks: list[tuple[float, str]], empty: str, width: int, height: int,
                attrs: dict, value_attr: str) -> Markup:
    """Days along the bottom: light bars of a count, a line of a value (0-1 of the plot's height; None
    breaks the line) with a dot per day. ``days``: (day, height share, count, hover, data value)."""
    left, right, top, bottom = 44, 10, 14, 30
    plot_w, plot_h = width - left - right, height - top - bottom
    extra = "".join(f' {k}="{escape(v)}"' for k, v in attrs.items())
    parts = [f'<svg class="chart-svg trend" viewBox="0 0 {width} {height}" role="img" data-points="{len(days)}"{extra}>']
    _y_grid(parts, ticks, left, width - right, top, plot_h)
    if all(d[1] is None for d in days):
        parts.append(_tag("text", escape(empty), class_="empty", x=left + plot_w / 2, y=top + plot_h / 2,
                          text_anchor="middle"))
    step = plot_w / max(len(days), 1)
    every = max(1, round(len(days) / 10))
    most = max([d[2] for d in days] + [1])
    path, dots, pen_down = [], [], False
    for i, (day, share, count, hover, value) in enumerate(days):
        cx = left + step * (i + 0.5)
        h = plot_h * 0.35 * count / most
        parts.append(_tag("rect", _tag("title", escape(f"{day}: {count}")), class_="volume",
                          x=f"{cx - step * 0.35:.1f}", y=f"{top + plot_h - h:.1f}", width=f"{step * 0.7:.1f}",
                          height=f"{h:.1f}", data_day=day, data_count=count))
        if i % every == 0:
            parts.append(_tag("text", escape(day[5:]), class_="tick", x=f"{cx:.1f}", y=height - 10,
                              text_anchor="middle"))
        if share is None:
            pen_down = False  # a day without a value breaks the line
            continue
        y = top + plot_h * (1 - min(max(share, 0.0), 1.0))
        path.append(f"{'L' if pen_down else 'M'}{cx:.1f},{y:.1f}")
        pen_down = True
        dots.append(_tag("circle", _tag("title", escape(hover)), class_="dot", cx=f"{cx:.1f}", cy=f"{y:.1f}", r=3,
                         data_day=day, **{value_attr.replace("-", "_"): value}))
    if path:
        parts.append(_tag("path", class_="line", d=" ".join(path)))
    parts += dots
    parts.append("</svg>")
    return Markup("".join(parts))


def _y_grid(parts: list[str], ticks: list[tuple[float, str]], left: float, right: float, top: float,
            plot_h: float) -> None:
    """Horizontal grid lines (the bottom one the axis) labelled on the left: (share of the height, text)."""
    for share, label in ticks:
        y = top + plot_h * (1 - share)
        parts.append(_tag("line", class_="axis" if share == 0 else "grid", x1=left, x2=right,
                          y1=f"{y:.1f}", y2=f"{y:.1f}"))
        parts.append(_tag("text", label, class_="tick", x=left - 4, y=f"{y + 4:.1f}", text_anchor="end"))


def minutes(seconds: float | None, digits: int = 1) -> str:
    return "—" if seconds is None else f"{seconds / 60:.{digits}f}"


def histogram(bins: list[tuple[str, int]], empty: str = "", width: int = 620, height: int = 200) -> Markup:
    """Counts per bin (``label``: the bin's lower edge), as adjacent bars: the shape of the waits."""
    left, right, top, bottom = 40, 8, 14, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    most = max([n for _, n in bins] + [1])
    step = max(1, 10 ** len(str(most)) // 10)
    top_value = -(-most // step) * step
    parts = [f'<svg class="chart-svg histogram" viewBox="0 0 {width} {height}" role="img" data-bins="{len(bins)}">']
    _y_grid(parts, [(k / 4, f"{top_value * k / 4:.0f}") for k in range(5)], left, width - right, top, plot_h)
    if not any(n for _, n in bins):
        parts.append(_tag("text", escape(empty), class_="empty", x=left + plot_w / 2, y=top + plot_h / 2,
                          text_anchor="middle"))
    slot = plot_w / max(len(bins), 1)
    every = max(1, round(len(bins) / 9))
    for i, (label, n) in enumerate(bins):
        h = plot_h * n / top_value if top_value else 0
        x = left + slot * i
        parts.append(_tag("rect", _tag("title", escape(f"{label}: {n}")), class_="bar", x=f"{x + 1:.1f}",
                          y=f"{top + plot_h - h:.1f}", width=f"{max(slot - 2, 1):.1f}", height=f"{h:.1f}",
                          data_label=label, data_count=n))
        if i % every == 0:
            parts.append(_tag("text", escape(label), class_="tick", x=f"{x:.1f}", y=height - bottom + 16,
                              text_anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def heatmap(rows: list[str], columns: list[str], cells: dict[tuple[int, int], tuple[float | None, str, str | None]],
            empty: str = "", width: int = 1100) -> Markup:
    """A grid of ``rows`` x ``columns`` (weekdays x hours): each cell (value, text, link); the colour
    runs from pale (short) to deep red (long), scaled to the largest value shown."""
    left, top, cell_h = 52, 22, 30
    cell_w = (width - left - 8) / max(len(columns), 1)
    height = top + cell_h * len(rows) + 6
    values = [v for v, _, _ in cells.values() if v is not None]
    most = max(values) if values else 1
    parts = [f'<svg class="chart-svg heatmap" viewBox="0 0 {width} {height}" role="img" data-cells="{len(cells)}">']
    for j, name in enumerate(columns):
        parts.append(_tag("text", escape(name), class_="tick", x=f"{left + cell_w * (j + 0.5):.1f}", y=top - 6,
                          text_anchor="middle"))
    for i, name in enumerate(rows):
        y = top + i * cell_h
        parts.append(_tag("text", escape(name), class_="label", x=left - 6, y=y + cell_h * 0.65, text_anchor="end"))
        for j in range(len(columns)):
            found = cells.get((i, j))
            x = left + j * cell_w
            if found is None or found[0] is None:
                parts.append(_tag("rect", class_="cell none", x=f"{x:.1f}", y=y, width=f"{cell_w - 2:.1f}",
                                  height=cell_h - 2))
                continue
            value, text, href = found
            share = value / most if most else 0
            colour = f"hsl({int(45 - 45 * share)}, {int(60 + 30 * share)}%, {int(92 - 50 * share)}%)"
            mark = (_tag("title", escape(text))
                    + _tag("rect", class_="cell", x=f"{x:.1f}", y=y, width=f"{cell_w - 2:.1f}", height=cell_h - 2,
                           fill=colour)
                    + _tag("text", f"{value / 60:.0f}", class_="cell-value" + (" dark" if share > 0.6 else ""),
                           x=f"{x + cell_w / 2 - 1:.1f}", y=y + cell_h * 0.65, text_anchor="middle"))
            group = _tag("g", mark, class_="mark", data_row=i, data_column=j, data_value=f"{value:.1f}")
            parts.append(_tag("a", group, href=href) if href else group)
    if not cells:
        parts.append(_tag("text", escape(empty), class_="empty", x=width / 2, y=top + 20, text_anchor="middle"))
    parts.append("</svg>")
    return Markup("".join(parts))


def value_trend(points: list[tuple[str, float | None, int]], unit: str = "", empty: str = "",
                width: int = 720, height: int = 220) -> Markup:
    """A value per day (``(day, value, count)``) as a line from 0 up, over light bars of the count:
    e.g. the average wait in minutes and the tickets taken."""
    values = [v for _, v, _ in points if v is not None]
    most = max(values) if values else 1
    nice = next(s for s in (1, 2, 5, 10, 15, 20, 30, 60, 120, 300, 600, 1200, 10 ** 9) if s * 4 >= most)
    ticks = [(k / 4, f"{nice * k:g}{unit}") for k in range(5)]
    days = [(day, None if v is None else v / (nice * 4), n, f"{day}: {v:.1f}{unit}" if v is not None else day,
             None if v is None else f"{v:.3f}") for day, v, n in points]
    return _days_chart(days, ticks, empty, width, height, {}, "data-value")
