"""The audit for people: a terminal summary, CSV, and a self-contained HTML page with a chart per measure.

The charts are drawn with matplotlib (headless, Agg) as SVG and written into the page, so the HTML opens
anywhere with nothing beside it.
"""

from __future__ import annotations

import csv
import html
import io
from collections.abc import Sequence

from .audit import OUTCOMES, Audit, Tally, rows

_COLOURS = {"done_on_time": "#2e7d32", "done_late": "#f9a825", "declined": "#8d6e63", "missed": "#c62828",
            "overdue": "#ef6c00", "due": "#1565c0", "stood_down": "#9e9e9e", "not_assessable": "#cfd8dc"}
_LABEL = {state.value: state.value.replace("_", " ") for state in OUTCOMES}


def _share(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _hours(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} h"


def render_text(audit: Audit) -> str:
    """A summary for the terminal: the national measure, then each duty kind's outcomes."""
    period = f"{audit.period.start.isoformat()} to {audit.period.end.isoformat()} (end excluded)"
    national = audit.national
    out = [f"Audit of {audit.children:,} children against {audit.protocol}, duties required {period}",
           f"Records refused: {audit.refused:,}; histories with dates only: {audit.dates_only:,}", "",
           f"Return interview offered within 72 hours of return (2014 statutory guidance): "
           f"{national.offered_in_time:,} of {national.returns:,} returns ({_share(national.share())})", ""]
    header = ["DUTY KIND", "REQUIRED", "ON TIME", "LATE", "DECLINED", "MISSED", "OVERDUE", "DUE", "N/A",
              "ON TIME %", "MEDIAN", "P90"]
    table = [header]
    for kind, tally in sorted(audit.by_kind.items(), key=lambda item: -item[1].required):
        s = tally.states
        table.append([kind, str(tally.required), str(s["done_on_time"]), str(s["done_late"]), str(s["declined"]),
                      str(s["missed"]), str(s["overdue"]), str(s["due"]), str(s["not_assessable"]),
                      _share(tally.on_time_share()), _hours(tally.median()), _hours(tally.p90())])
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for number, row in enumerate(table):
        out.append("  ".join(cell.ljust(w) if i == 0 else cell.rjust(w)
                             for i, (cell, w) in enumerate(zip(row, widths, strict=True))))
        if number == 0:
            out.append("  ".join("-" * w for w in widths))
    if len(table) == 1:
        out.append("No duties were required in this period.")
    out += ["", "ON TIME % counts duties whose outcome can be judged (not still due, stood down or not "
                "assessable); MEDIAN and P90 are hours from becoming required to being done."]
    return "\n".join(out)


def render_csv(audit: Audit) -> str:
    """One row per duty kind and per rule, then one per month of the national measure."""
    out = io.StringIO()
    columns = ["level", "duty", "rule", "title", "required", *(s.value for s in OUTCOMES), "on_time_share",
               "median_hours", "p90_hours"]
    writer = csv.DictWriter(out, columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows(audit))
    writer.writerow({"level": "national measure", "duty": "return_interview", "rule": "offered within 72 hours",
                     "title": "2014 statutory guidance", "required": audit.national.returns,
                     "done_on_time": audit.national.offered_in_time,
                     "on_time_share": None if audit.national.share() is None else round(audit.national.share()
                                                                                        or 0, 4)})
    return out.getvalue()


def _svg(figure: object) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")  # type: ignore[attr-defined]
    text = buffer.getvalue()
    return text[text.index("<svg"):]


def _months_chart(title: str, months: Sequence[str], tallies: dict[str, Tally]) -> str:
    """Stacked bars: each month's duties of one kind, by outcome."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(7.5, 2.6))
    bottom = [0] * len(months)
    for state in OUTCOMES:
        values = [tallies[m].states[state.value] if m in tallies else 0 for m in months]
        if any(values):
            axes.bar(months, values, bottom=bottom, color=_COLOURS[state.value], label=_LABEL[state.value])
            bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    axes.set_title(title, loc="left", fontsize=11)
    axes.set_ylabel("duties required")
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.legend(fontsize=7, ncols=4, loc="upper left", bbox_to_anchor=(0, -0.35), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    svg = _svg(figure)
    pyplot.close(figure)
    return svg


def _national_chart(audit: Audit) -> str:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    months = audit.months()
    figure, axes = pyplot.subplots(figsize=(7.5, 2.6))
    national = [audit.national.by_month.get(m, [0, 0]) for m in months]
    shares = [100 * done / returns if returns else None for returns, done in national]
    axes.plot(months, [s if s is not None else float("nan") for s in shares], marker="o", color="#1565c0",
              label="offered within 72 hours of return (national measure)")
    own = {month: tally for (kind, month), tally in audit.by_month.items() if kind == "return_interview"}
    own_share = [own[m].on_time_share() if m in own else None for m in months]
    axes.plot(months, [100 * s if s is not None else float("nan") for s in own_share], marker="s",
              color="#2e7d32", label=f"return interview on time ({audit.protocol}'s own limit)")
    axes.set_ylim(0, 105)
    axes.set_ylabel("% of returns")
    axes.set_title("Return interviews", loc="left", fontsize=11)
    axes.tick_params(axis="x", labelrotation=45, labelsize=8)
    axes.legend(fontsize=7, loc="upper left", bbox_to_anchor=(0, -0.35), frameon=False)
    axes.spines[["top", "right"]].set_visible(False)
    svg = _svg(figure)
    pyplot.close(figure)
    return svg


_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 62rem; margin: 1.5rem auto; padding: 0 1rem; color: #212121; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; font-size: 0.85rem; width: 100%; }
th, td { border-bottom: 1px solid #e0e0e0; padding: 0.3rem 0.5rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
.measure { font-size: 1.1rem; background: #e3f2fd; padding: 0.7rem 1rem; border-radius: 6px; }
figure { margin: 1rem 0; } svg { max-width: 100%; height: auto; }
.note { color: #616161; font-size: 0.85rem; }
"""


def render_html(audit: Audit, charts: int = 8) -> str:
    """A self-contained page: the national measure, the table of outcomes, and a chart per measure by month."""
    national = audit.national
    period = f"{audit.period.start.isoformat()} to {audit.period.end.isoformat()}"
    kinds = sorted(audit.by_kind.items(), key=lambda item: -item[1].required)
    months = audit.months()
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Audit: {html.escape(audit.protocol)}, {period}</title><style>{_STYLE}</style></head><body>",
        f"<h1>Compliance audit: {html.escape(audit.protocol)}</h1>",
        f'<p class="note">Duties required from {audit.period.start.isoformat()} to '
        f"{audit.period.end.isoformat()} (end excluded); {audit.children:,} children; {audit.refused:,} records "
        f"refused; {audit.dates_only:,} histories with dates only.</p>",
        f'<p class="measure">Return interview offered within 72 hours of return (2014 statutory guidance): '
        f"<strong>{_share(national.share())}</strong> ({national.offered_in_time:,} of {national.returns:,} "
        "returns)</p>",
        f"<figure>{_national_chart(audit)}</figure>",
        "<h2>Outcomes by duty kind</h2>", "<table><thead><tr><th>Duty kind</th><th>Required</th>",
        *(f"<th>{html.escape(_LABEL[s.value])}</th>" for s in OUTCOMES),
        "<th>On time</th><th>Median</th><th>P90</th></tr></thead><tbody>",
    ]
    for kind, tally in kinds:
        cells = "".join(f"<td>{tally.states[s.value]:,}</td>" for s in OUTCOMES)
        parts.append(f"<tr><td>{html.escape(kind)}</td><td>{tally.required:,}</td>{cells}"
                     f"<td>{_share(tally.on_time_share())}</td><td>{_hours(tally.median())}</td>"
                     f"<td>{_hours(tally.p90())}</td></tr>")
    parts.append("</tbody></table>")
    parts.append('<p class="note">On time counts duties whose outcome can be judged (not still due, stood down '
                 "or not assessable). Median and P90 are hours from becoming required to being done.</p>")
    parts.append("<h2>Each measure by month</h2>")
    for kind, _ in kinds[:charts]:
        tallies = {month: tally for (k, month), tally in audit.by_month.items() if k == kind}
        parts.append(f"<figure>{_months_chart(kind.replace('_', ' '), months, tallies)}</figure>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
