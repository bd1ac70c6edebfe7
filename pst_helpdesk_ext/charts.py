"""Server-side SVG charts for the report page: no JavaScript, no CDN, printable.

Labels are escaped (``format_html``); numbers are the report's own decimals, so a chart never
shows a value the table does not, printed as the page's language writes them (``_num``: a decimal
comma in Indonesian, a point in English, as the tables beside them). Coordinates stay plain
numbers with a point: they are SVG, not text.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Final

from django.utils.formats import number_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from pst_helpdesk_ext.ikm import Grade, IkmResult

#: Grade colours (colour-blind safe pairs, also told apart by the letter printed on each bar).
GRADE_COLOURS: Final = {"A": "#1a7f37", "B": "#0b5ed7", "C": "#d97706", "D": "#b42318"}
NO_GRADE: Final = "#9aa1a9"


def element_bars(result: IkmResult) -> SafeString:
    """Horizontal bars of the nine NRRs (scale 1-4), coloured by the element's grade."""
    row, left, width = 30, 340, 300
    height = row * len(result.elements) + 40
    bars = []
    for index, element in enumerate(result.elements):
        y = 10 + index * row
        label = f"{element.code} {element.element.name}"
        if element.nrr is None:
            bars.append(
                format_html(
                    '<text x="{}" y="{}" class="pst-eb-lbl">{}</text>'
                    '<text x="{}" y="{}" class="pst-val">{}</text>',
                    left - 8,
                    y + 17,
                    label,
                    left + 4,
                    y + 17,
                    _("not answered"),
                )
            )
            continue
        length = int(width * element.nrr / 4)
        colour = GRADE_COLOURS.get(element.grade.letter if element.grade else "", NO_GRADE)
        bars.append(
            format_html(
                "<g><title>{}: NRR {} ({})</title>"
                '<text x="{}" y="{}" class="pst-eb-lbl">{}</text>'
                '<rect x="{}" y="{}" width="{}" height="20" rx="3" fill="{}"></rect>'
                '<text x="{}" y="{}" class="pst-val">{} {}</text></g>',
                label,
                _num(element.nrr),
                element.grade.letter if element.grade else "",
                left - 8,
                y + 17,
                label,
                left,
                y + 3,
                length,
                colour,
                left + length + 6,
                y + 17,
                _num(element.nrr),
                element.grade.letter if element.grade else "",
            )
        )
    ticks = format_html_join(
        "",
        '<line x1="{}" y1="5" x2="{}" y2="{}" class="pst-grid"></line>'
        '<text x="{}" y="{}" class="pst-tick">{}</text>',
        (
            (
                left + width * t // 4,
                left + width * t // 4,
                height - 25,
                left + width * t // 4,
                height - 8,
                t,
            )
            for t in range(5)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" role="img" '
        'aria-label="{2}" class="pst-chart" id="pst-element-chart">'
        "<style>.pst-eb-lbl{{font:12px sans-serif;text-anchor:end}}"
        "#pst-element-chart .pst-val{{font:12px sans-serif}}"
        ".pst-tick{{font:11px sans-serif;text-anchor:middle;fill:#555}}"
        ".pst-grid{{stroke:#ddd}}</style>{3}{4}</svg>",
        left + width + 80,
        height,
        _("NRR per element"),
        ticks,
        mark_safe("".join(bars)),  # noqa: S308
    )


def _n(value: float) -> str:
    """A coordinate (SVG attribute): always with a point."""
    return f"{value:.1f}"


def _num(value: Decimal | float | int) -> str:
    """A number people read (label, axis, tooltip), in the active language's decimal mark, with
    the value's own decimals."""
    return number_format(value, use_l10n=True)


def trend_line(points: list[tuple[str, Decimal | None]]) -> SafeString:
    """The monthly IKM (25-100) as a line with a dot and value per month."""
    known = [(label, value) for label, value in points if value is not None]
    if not known:
        return mark_safe("")
    left, top, width, height = 40, 26, max(120 * len(known), 360), 200
    low = Decimal(25)

    def y_of(value: Decimal) -> float:
        return float(top + height - (value - low) / Decimal(75) * height)

    step = width / max(len(known) - 1, 1)
    coords = [(left + i * step, y_of(value)) for i, (_label, value) in enumerate(known)]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    bands = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="{}" stroke-dasharray="4 3"></line>'
        '<text x="{}" y="{}" class="pst-tick" fill="{}">{} &#8805; {}</text>',
        (
            (
                left,
                left + width,
                _n(y_of(g.min_index)),
                _n(y_of(g.min_index)),
                GRADE_COLOURS[g.letter],
                left + width + 60,
                _n(y_of(g.min_index) + 4),
                GRADE_COLOURS[g.letter],
                g.letter,
                _num(g.min_index),
            )
            for g in (Grade.A, Grade.B, Grade.C)
        ),
    )
    dots = format_html_join(
        "",
        '<circle cx="{}" cy="{}" r="4" fill="{}"><title>{}: {}</title></circle>'
        '<text x="{}" y="{}" class="pst-val">{}</text>'
        '<text x="{}" y="{}" class="pst-tick">{}</text>',
        (
            (
                x,
                y,
                GRADE_COLOURS[Grade.for_index(value).letter],
                label,
                _num(value),
                x,
                y - 8,
                _num(value),
                x,
                top + height + 18,
                label,
            )
            for (x, y), (label, value) in zip(coords, known, strict=True)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" role="img" '
        'aria-label="{2}" class="pst-chart" id="pst-trend-chart">'
        "<style>#pst-trend-chart .pst-val{{font:11px sans-serif;text-anchor:middle}}"
        ".pst-tick{{font:11px sans-serif;text-anchor:middle;fill:#555}}</style>"
        '{3}<polyline points="{4}" fill="none" stroke="#00355f" stroke-width="2"></polyline>'
        "{5}</svg>",
        left + width + 100,
        height + 50,
        _("IKM per month"),
        bands,
        path,
        dots,
    )


#: Line colours of the SLA trend (Okabe-Ito, colour-blind safe); each line also has its label.
SERIES_COLOURS: Final = ("#0072B2", "#D55E00", "#009E73", "#CC79A7")


def compliance_lines(series: list[tuple[str, list[tuple[str, Decimal | None]]]]) -> SafeString:
    """Compliance (0-100 %) per month, one line per kind, the value printed at each dot."""
    months = sorted(
        {month for _name, points in series for month, value in points if value is not None}
    )
    if not months:
        return mark_safe("")
    left, top, height = 46, 20, 200
    width = max(110 * (len(months) - 1), 360)
    step = width / max(len(months) - 1, 1)

    def x_of(month: str) -> float:
        return left + months.index(month) * step

    def y_of(value: Decimal) -> float:
        return float(top + height - value / Decimal(100) * height)

    grid = format_html_join(
        "",
        '<line x1="{}" x2="{}" y1="{}" y2="{}" stroke="#ccc"></line>'
        '<text x="{}" y="{}" class="pst-tick" text-anchor="end">{}%</text>',
        (
            (
                left,
                left + width,
                _n(y_of(Decimal(p))),
                _n(y_of(Decimal(p))),
                left - 6,
                _n(y_of(Decimal(p)) + 4),
                p,
            )
            for p in (0, 50, 100)
        ),
    )
    axis = format_html_join(
        "",
        '<text x="{}" y="{}" class="pst-tick">{}</text>',
        ((_n(x_of(month)), top + height + 18, month) for month in months),
    )
    lines = []
    for index, (name, points) in enumerate(series):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        known = [(month, value) for month, value in points if value is not None]
        if not known:
            continue
        path = " ".join(f"{x_of(m):.1f},{y_of(v):.1f}" for m, v in known)
        dots = format_html_join(
            "",
            '<circle cx="{}" cy="{}" r="4" fill="{}"><title>{} {}: {}%</title></circle>'
            '<text x="{}" y="{}" class="pst-val" fill="{}">{}</text>',
            (
                (
                    _n(x_of(m)),
                    _n(y_of(v)),
                    colour,
                    name,
                    m,
                    _num(v),
                    _n(x_of(m)),
                    _n(y_of(v) - 8),
                    colour,
                    _num(v),
                )
                for m, v in known
            ),
        )
        legend_y = top + 14 + index * 18
        lines.append(
            format_html(
                '<polyline points="{}" fill="none" stroke="{}" stroke-width="2"></polyline>{}'
                '<rect x="{}" y="{}" width="12" height="12" fill="{}"></rect>'
                '<text x="{}" y="{}" class="pst-legend">{}</text>',
                path,
                colour,
                dots,
                left + width + 24,
                legend_y - 10,
                colour,
                left + width + 42,
                legend_y,
                name,
            )
        )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" role="img" '
        'aria-label="{2}" class="pst-chart" id="pst-sla-trend-chart">'
        "<style>#pst-sla-trend-chart .pst-val{{font:11px sans-serif;text-anchor:middle}}"
        "#pst-sla-trend-chart .pst-tick{{font:11px sans-serif;fill:#555}}"
        "#pst-sla-trend-chart .pst-legend{{font:12px sans-serif}}</style>"
        "{3}{4}{5}</svg>",
        left + width + 220,
        height + 50,
        _("Compliance per month"),
        grid,
        axis,
        SafeString("".join(lines)),  # each part built by format_html
    )


def hour_bars(hours: list[tuple[int, int, Decimal]]) -> SafeString:
    """Numbers issued per hour of the day (average per service day printed on each bar)."""
    if not hours:
        return mark_safe("")
    first, last = min(h for h, _c, _a in hours), max(h for h, _c, _a in hours)
    span = list(range(first, last + 1))
    by_hour = {h: (count, average) for h, count, average in hours}
    top_count = max(count for _h, count, _a in hours) or 1
    left, top, height, bar = 30, 20, 160, 44
    width = bar * len(span)
    bars = format_html_join(
        "",
        '<rect x="{}" y="{}" width="{}" height="{}" fill="{}"><title>{}:00 – {}</title></rect>'
        '<text x="{}" y="{}" class="pst-val">{}</text>'
        '<text x="{}" y="{}" class="pst-tick">{}</text>',
        (
            (
                left + i * bar + 6,
                _n(top + height - by_hour.get(h, (0, 0))[0] / top_count * height),
                bar - 12,
                _n(by_hour.get(h, (0, 0))[0] / top_count * height),
                "#0072B2" if by_hour.get(h, (0, 0))[0] < top_count else "#D55E00",
                f"{h:02d}",
                _num(by_hour.get(h, (0, Decimal(0)))[1]),
                left + i * bar + bar // 2,
                _n(top + height - by_hour.get(h, (0, 0))[0] / top_count * height - 4),
                _num(by_hour.get(h, (0, Decimal(0)))[1]),
                left + i * bar + bar // 2,
                top + height + 16,
                f"{h:02d}",
            )
            for i, h in enumerate(span)
        ),
    )
    return format_html(
        '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" role="img" '
        'aria-label="{2}" class="pst-chart" id="pst-hours-chart">'
        "<style>#pst-hours-chart .pst-val{{font:11px sans-serif;text-anchor:middle}}"
        "#pst-hours-chart .pst-tick{{font:11px sans-serif;text-anchor:middle;fill:#555}}</style>"
        "{3}</svg>",
        left + width + 10,
        height + 40,
        _("Numbers issued per hour of the day, average per service day"),
        bars,
    )
