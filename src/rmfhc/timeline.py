"""A child's timeline: episodes, each duty's window, when it was done, and what is overdue or missed.

`draw(result, history, "svg")` (or `"png"`) draws one panel per episode, the latest `max_episodes` of them, each
with its own time axis in London time, so that episodes weeks apart are each readable. In a panel:

- the top row is the episode: a bar from last seen to found, or an arrow to `as_of` if the child is still
  missing;
- each other row is one rule: a bar for each occurrence's window, from when it was required to when it was
  due, coloured by its state; a diamond when it was done (or declined); for an overdue duty, a solid bar from
  its deadline to `as_of`; a missed duty's window is hatched;
- the row's label is the duty's title, shortened at a word; in the SVG, hovering a row shows the full title,
  the rule id, the clause and the state of each occurrence;
- the right margin says where the row stands (`overdue 4 days`, `done late (+2 h)`, `3 done on time, 1 due`).

matplotlib draws it on a bare `Figure` (no pyplot, so no display and no global backend is touched: PNG comes
from the headless Agg renderer); the SVG keeps text as text.
"""

from __future__ import annotations

import html
import io
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

import matplotlib.dates as mdates
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.colors import to_rgb
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from .dates import LONDON
from .models import Episode, History
from .report import STATE_ORDER, when
from .results import Duty, DutyState, Evaluation, describe_span

Form = Literal["svg", "png"]

# Okabe-Ito colours, told apart by people with the common colour-vision deficiencies; missed is also hatched.
COLOURS: dict[DutyState, str] = {
    DutyState.DUE: "#0072B2", DutyState.OVERDUE: "#D55E00", DutyState.DONE_ON_TIME: "#009E73",
    DutyState.DONE_LATE: "#E69F00", DutyState.DECLINED: "#CC79A7", DutyState.STOOD_DOWN: "#999999",
    DutyState.MISSED: "#8B0000", DutyState.NOT_ASSESSABLE: "#BDBDBD",
}
# Darker shades of the same colours for text, readable on white.
TEXT_COLOURS: dict[DutyState, str] = {
    DutyState.DUE: "#005A8C", DutyState.OVERDUE: "#B34700", DutyState.DONE_ON_TIME: "#00704F",
    DutyState.DONE_LATE: "#8A5A00", DutyState.DECLINED: "#97407A", DutyState.STOOD_DOWN: "#666666",
    DutyState.MISSED: "#8B0000", DutyState.NOT_ASSESSABLE: "#616161",
}
EPISODE_COLOUR = "#3b3b3b"
LABEL_WIDTH = 60  # characters a line of a duty's label (two lines at most)
ROW_INCHES = 0.42


@dataclass(slots=True)
class Row:
    """One rule's occurrences in one episode, drawn on one line."""

    rule: str
    title: str
    section: str
    duties: list[Duty] = field(default_factory=list)


@dataclass(slots=True)
class Panel:
    """One episode as known at as_of, its time span, and its duties' rows."""

    episode: Episode
    found: datetime | None  # None: still missing at as_of
    start: datetime
    end: datetime
    rows: list[Row]


def shorten(title: str, width: int = LABEL_WIDTH, lines: int = 2) -> str:
    """A title wrapped at words into at most `lines` lines of `width` characters, the last cut at a word with
    an ellipsis when the title is longer."""
    wrapped = textwrap.wrap(title, width, break_long_words=False, break_on_hyphens=False) or [""]
    if len(wrapped) <= lines:
        return "\n".join(wrapped)
    rest = " ".join(wrapped[lines - 1:])
    last = rest[: width - 1].rsplit(" ", 1)[0].rstrip(",;:-") + "…"
    return "\n".join([*wrapped[: lines - 1], last])


def _rows(duties: Sequence[Duty]) -> list[Row]:
    rows: dict[str, Row] = {}
    for duty in duties:
        rows.setdefault(duty.rule, Row(duty.rule, duty.title, duty.source.section)).duties.append(duty)
    # Most urgent first, then by when each became required.
    urgency = {state: n for n, state in enumerate(STATE_ORDER)}
    return sorted(rows.values(), key=lambda r: (min(urgency[d.state] for d in r.duties),
                                                min(d.required_at for d in r.duties)))


def panels(result: Evaluation, history: History, max_episodes: int = 4) -> tuple[list[Panel], int]:
    """The latest `max_episodes` episodes known at as_of, each with its rows and time span; and how many
    earlier episodes were left out."""
    as_of = result.as_of
    episodes = [e for e in history.ordered_episodes() if e.last_seen_at <= as_of]
    shown = episodes[-max_episodes:] if max_episodes > 0 else episodes
    out = []
    for episode in shown:
        duties = [d for d in result.duties if d.episode == episode.id]
        found = episode.found_at if episode.found_at is not None and episode.found_at <= as_of else None
        moments = [episode.last_seen_at, found or as_of]
        for duty in duties:
            moments += [duty.required_at, duty.due] + ([duty.done_at] if duty.done_at else [])
            if duty.state is DutyState.OVERDUE:
                moments.append(as_of)
        out.append(Panel(episode, found, min(moments), max(moments), _rows(duties)))
    return out, len(episodes) - len(shown)


def standing(row: Row) -> str:
    """Where a row stands, in a few words: 'overdue 4 days', 'done late (+2 h)', '3 done on time, 1 due'."""
    if len(row.duties) == 1:
        duty = row.duties[0]
        words = duty.state.value.replace("_", " ")
        if duty.state is DutyState.OVERDUE and duty.late_by is not None:
            return f"overdue {_hours(duty.late_by)}"
        if duty.late_by is not None:
            return f"{words} (+{_hours(duty.late_by)})"
        return words
    counts = {state: sum(d.state is state for d in row.duties) for state in STATE_ORDER}
    return ", ".join(f"{n} {s.value.replace('_', ' ')}" for s, n in counts.items() if n)


def tooltip(row: Row) -> str:
    """The full text behind a row: title, rule, clause, and each occurrence's state and deadline."""
    lines = [row.title, f"rule {row.rule}, clause {row.section}"]
    for duty in row.duties:
        number = f"#{duty.occurrence} " if len(row.duties) > 1 else ""
        done = f", done {when(duty.done_at)}" if duty.done_at else ""
        lines.append(f"{number}{duty.state.value.replace('_', ' ')}: required {when(duty.required_at)}, "
                     f"due {when(duty.due)}{done}")
    return "\n".join(lines)


def _num(moment: datetime) -> float:
    """A moment as matplotlib's date number (it keeps the instant; the axis shows it in London time)."""
    number: float = mdates.date2num(moment)  # type: ignore[no-untyped-call]
    return number


def _london_axis(ax: Axes) -> None:
    """Ticks and labels of the time axis in London time, as concise as the span allows."""
    locator = mdates.AutoDateLocator(tz=LONDON, minticks=4, maxticks=10)  # type: ignore[no-untyped-call]
    ax.xaxis.set_major_locator(locator)
    # Days as '13 Oct' (never a bare '13'), hours as '18:00' with the date at midnight, the year aside.
    formatter = mdates.ConciseDateFormatter(  # type: ignore[no-untyped-call]
        locator, tz=LONDON, formats=["%Y", "%b %Y", "%d %b", "%H:%M", "%H:%M", "%S.%f"],
        zero_formats=["", "%b %Y", "%d %b", "%a %d %b", "%H:%M", "%H:%M"],
        offset_formats=["", "", "%Y", "%Y", "%Y", "%Y"])
    ax.xaxis.set_major_formatter(formatter)


def _bar(ax: Axes, y: float, start: datetime, end: datetime, height: float = 0.6, **style: object) -> None:
    width = max(end - start, timedelta(minutes=1))
    ax.barh(y, _num(start + width) - _num(start), left=_num(start),
            height=height, **style)  # type: ignore[arg-type]


def _light(colour: str, strength: float = 0.35) -> tuple[float, float, float]:
    """The colour as a light tint on white (a solid colour, so hatching in the edge colour shows everywhere)."""
    return tuple(1 - strength * (1 - c) for c in to_rgb(colour))  # type: ignore[return-value]


def _draw_duty(ax: Axes, y: float, duty: Duty, gid: str) -> None:
    """A duty's window, from when it was required to its deadline, and a diamond when it was done."""
    colour = COLOURS[duty.state]
    hatch = "////" if duty.state is DutyState.MISSED else None
    _bar(ax, y, duty.required_at, duty.due, facecolor=_light(colour), edgecolor=colour, linewidth=1,
         hatch=hatch, gid=gid, zorder=2)
    if duty.done_at is not None:
        ax.plot([_num(duty.done_at)], [y], marker="D", markersize=6, color=colour, markeredgecolor="black",
                markeredgewidth=0.6, linestyle="none", gid=gid, zorder=4)


def _draw_overdue(ax: Axes, y: float, duties: Sequence[Duty], as_of: datetime, gid: str) -> None:
    """Solid from each overdue duty's deadline to as_of, over the windows; thin where a row has several
    occurrences, so that their windows stay visible around it."""
    height = 0.6 if len(duties) == 1 else 0.24
    for duty in duties:
        if duty.state is DutyState.OVERDUE:
            _bar(ax, y, duty.due, as_of, height=height, color=COLOURS[DutyState.OVERDUE], gid=gid, zorder=3)


def _draw_episode(ax: Axes, panel: Panel, as_of: datetime) -> None:
    episode = panel.episode
    end = panel.found or as_of
    _bar(ax, 0, episode.last_seen_at, end, color=EPISODE_COLOUR, gid="episode")
    if panel.found is None:  # still missing: the bar runs on past as_of
        ax.plot([_num(as_of)], [0], marker=">", markersize=9, color=EPISODE_COLOUR, clip_on=False)


def _draw_panel(ax: Axes, panel: Panel, as_of: datetime, tips: dict[str, str], first_tip: int) -> int:
    """Draw one episode's panel; returns the number of tooltips used."""
    episode = panel.episode
    status = (f"found {when(panel.found)}" if panel.found is not None else f"still missing at {when(as_of)}")
    labels = [f"Episode {episode.id} ({episode.kind.value.replace('_', ' ')})"]
    right = [f"found after {_hours(panel.found - episode.last_seen_at)}" if panel.found is not None
             else f"still missing ({_hours(as_of - episode.last_seen_at)})"]
    _draw_episode(ax, panel, as_of)
    for n, row in enumerate(panel.rows, start=1):
        gid = f"tip-{first_tip + n}"
        tips[gid] = tooltip(row)
        for duty in row.duties:
            _draw_duty(ax, n, duty, gid)
        _draw_overdue(ax, n, row.duties, as_of, gid)
        count = f" (x{len(row.duties)})" if len(row.duties) > 1 else ""
        labels.append(shorten(row.title + count))
        right.append(standing(row))
    ax.set_yticks(range(len(labels)), labels, fontsize=8, linespacing=1.05)
    for n, label in enumerate(ax.get_yticklabels()):
        if n:
            label.set_gid(f"tip-{first_tip + n}")
        else:
            label.set_fontweight("bold")
    for n, text in enumerate(right):
        colour = TEXT_COLOURS[_worst(panel.rows[n - 1])] if n else EPISODE_COLOUR
        ax.text(1.01, n, text, transform=ax.get_yaxis_transform(), fontsize=8, va="center", color=colour,
                fontweight="bold" if n == 0 or _worst(panel.rows[n - 1]) is DutyState.OVERDUE else "normal")
    ax.set_ylim(len(labels) - 0.5, -0.6)
    pad = (panel.end - panel.start) * 0.02 + timedelta(minutes=30)
    ax.set_xlim(_num(panel.start - pad), _num(panel.end + pad))
    if panel.start - pad <= as_of <= panel.end + pad:
        ax.axvline(_num(as_of), color="black", linestyle="--", linewidth=1)
    _london_axis(ax)
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for y in range(1, len(labels), 2):  # banding, so a long row can be followed across
        ax.axhspan(y - 0.5, y + 0.5, color="#f4f4f4", zorder=0)
    ax.set_title(f"Episode {episode.id}: last seen {when(episode.last_seen_at)}, {status}", loc="left",
                 fontsize=10)
    return len(panel.rows)


def _hours(span: timedelta) -> str:
    """A span to the hour: '1 day 17 h', '12 h'; minutes only under an hour."""
    if span < timedelta(hours=1):
        return describe_span(span)
    return describe_span(timedelta(hours=span // timedelta(hours=1)))


def _worst(row: Row) -> DutyState:
    return next(state for state in STATE_ORDER if any(d.state is state for d in row.duties))


def _legend(fig: Figure) -> None:
    """Two lines of legend at the top: what the marks are, then the state each window's colour shows."""
    height = fig.get_figheight()
    marks: list[Patch | Line2D] = [
        Patch(color=EPISODE_COLOUR, label="episode: last seen to found (an arrow: still missing)"),
        Patch(color=COLOURS[DutyState.OVERDUE], label="overdue: from the deadline to as of"),
        Line2D([], [], marker="D", color="grey", markeredgecolor="black", linestyle="none", label="done or declined"),
        Line2D([], [], color="black", linestyle="--", label="as of")]
    fig.legend(handles=marks, loc="upper center", ncol=len(marks), fontsize=8.5, frameon=False,
               bbox_to_anchor=(0.5, 1 - 0.42 / height))
    states = [Patch(facecolor=_light(COLOURS[state], 0.6), edgecolor=COLOURS[state],
                    hatch="////" if state is DutyState.MISSED else None, label=state.value.replace("_", " "))
              for state in STATE_ORDER]
    fig.legend(handles=states, loc="upper center", ncol=len(states), fontsize=8.5, frameon=False,
               title="each duty's window, from when it was required to its deadline, coloured by its state:",
               title_fontsize=8.5, bbox_to_anchor=(0.5, 1 - 0.72 / height))


def figure(result: Evaluation, history: History, max_episodes: int = 4) -> tuple[Figure, dict[str, str]]:
    """The drawing, and the full text (SVG tooltips) behind each row's id."""
    shown, omitted = panels(result, history, max_episodes)
    heights = [len(p.rows) + 1.6 for p in shown] or [1.0]
    height = ROW_INCHES * sum(heights) + 0.9 * len(shown) + 1.6
    layout = ConstrainedLayoutEngine(h_pad=0.12, hspace=0.04, rect=(0, 0, 1, 1 - 1.1 / height))
    fig = Figure(figsize=(14, height), layout=layout)
    axes = fig.subplots(len(shown) or 1, 1, squeeze=False, gridspec_kw={"height_ratios": heights})[:, 0]
    tips: dict[str, str] = {}
    used = 0
    for ax, panel in zip(axes, shown, strict=False):
        used += _draw_panel(ax, panel, result.as_of, tips, used)
    if not shown:
        axes[0].text(0.5, 0.5, "No episode is known at this moment.", ha="center", transform=axes[0].transAxes)
        axes[0].set_axis_off()
    child = history.child.id or "(no id)"
    earlier = f"; {omitted} earlier episode{'s' if omitted != 1 else ''} not shown" if omitted else ""
    fig.suptitle(f"Child {child}: {result.protocol} protocol, as of {when(result.as_of)}. "
                 f"Times are London time{earlier}.", x=0.01, ha="left", fontsize=11, fontweight="bold")
    _legend(fig)
    return fig, tips


def _with_tooltips(svg: str, tips: dict[str, str]) -> str:
    """Put each row's full text in a <title> in its groups, which browsers show on hover."""
    def titled(match: re.Match[str]) -> str:
        tip = tips.get(match.group(1))
        return match.group(0) if tip is None else f"{match.group(0)}\n   <title>{html.escape(tip)}</title>"

    return re.sub(r'<g id="(tip-\d+)">', titled, svg)


def draw(result: Evaluation, history: History, form: Form = "svg", max_episodes: int = 4) -> bytes:
    """The timeline as SVG (text kept as text, each row with a tooltip) or PNG (150 dpi)."""
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": "rmfhc", "font.family": "DejaVu Sans"}):
        fig, tips = figure(result, history, max_episodes)
        out = io.BytesIO()
        if form == "png":
            fig.savefig(out, format="png", dpi=150, metadata={"Software": None})
            return out.getvalue()
        fig.savefig(out, format="svg", metadata={"Date": None, "Creator": "rmfhc"})
    return _with_tooltips(out.getvalue().decode(), tips).encode()
