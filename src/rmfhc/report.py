"""An evaluation as a readable report for a terminal: counts, a table that fits the width, explanations.

The table wraps long titles, holders and clauses instead of cutting them, so a citation is never truncated.
A duty that repeats (a daily report while the child is missing) is one line per episode in the table, with
its occurrences counted by state; every occurrence stays in the JSON.
"""

from __future__ import annotations

import shutil
import textwrap
from collections.abc import Iterable, Sequence
from datetime import datetime

from .dates import LONDON
from .results import Duty, DutyState, Evaluation, describe_span

# Most urgent first: what needs doing, then what went wrong, then what went right.
STATE_ORDER = (DutyState.OVERDUE, DutyState.MISSED, DutyState.DUE, DutyState.DONE_LATE, DutyState.DECLINED,
               DutyState.DONE_ON_TIME, DutyState.STOOD_DOWN, DutyState.NOT_ASSESSABLE)
_LABEL = {state: state.value.replace("_", " ") for state in DutyState}


def when(moment: datetime | None, year: bool = True) -> str:
    """A moment in London time for people: 'Tue 03 Nov 2026 10:00 GMT'."""
    if moment is None:
        return "-"
    return moment.astimezone(LONDON).strftime("%a %d %b %Y %H:%M %Z" if year else "%a %d %b %H:%M")


def _done(duty: Duty) -> str:
    if duty.done_at is None:
        if duty.state is DutyState.OVERDUE and duty.late_by is not None:
            return f"{describe_span(duty.late_by)} overdue"
        return "-"
    verb = "declined " if duty.state is DutyState.DECLINED else ""
    text = f"{verb}{when(duty.done_at, year=False)}"
    if duty.done_by:
        text += f" by {duty.done_by}"
    if duty.late_by is not None:
        text += f", {describe_span(duty.late_by)} late"
    return text


def _who(duty: Duty) -> str:
    text = ", ".join(role.title for role in duty.roles)
    if duty.recipients:
        text += "; tell " + ", ".join(role.title for role in duty.recipients)
    return text


def _row(duty: Duty) -> list[str]:
    title = duty.title if duty.occurrence == 1 else f"{duty.title} (#{duty.occurrence})"
    return [_LABEL[duty.state].upper(), duty.episode, title, _who(duty), when(duty.due, year=False), _done(duty),
            duty.source.section]


def _summary_row(group: Sequence[Duty]) -> list[str]:
    """One line for the occurrences of a repeating duty in one episode."""
    first = group[0]
    counts: dict[DutyState, int] = {}
    for duty in group:
        counts[duty.state] = counts.get(duty.state, 0) + 1
    worst = next(state for state in STATE_ORDER if state in counts)
    states = ", ".join(f"{counts[s]} {_LABEL[s]}" for s in STATE_ORDER if s in counts)
    title = f"{first.title} (x{len(group)}: {states})"
    due = f"{when(group[0].due, year=False)} to {when(group[-1].due, year=False)}"
    return [_LABEL[worst].upper(), first.episode, title, _who(first), due, "-", first.source.section]


def _rows(duties: Sequence[Duty]) -> list[list[str]]:
    groups: dict[tuple[str, str], list[Duty]] = {}
    for duty in duties:
        groups.setdefault((duty.rule, duty.episode), []).append(duty)
    rows = []
    for duty in duties:
        group = groups[(duty.rule, duty.episode)]
        if len(group) == 1:
            rows.append(_row(duty))
        elif duty is group[0]:
            rows.append(_summary_row(group))
    return rows


_HEADERS = ["STATE", "EPISODE", "DUTY", "WHO", "DUE", "DONE", "CLAUSE"]
_WRAPS = frozenset({2, 3, 4, 5, 6})  # columns that may wrap: duty, who, due, done, clause


def _widths(rows: Sequence[Sequence[str]], total: int) -> list[int]:
    """Column widths: as wide as needed when it fits; otherwise wrapping columns shrink towards their
    longest word (never below it, so no word is split), sharing the room in proportion to what they need."""
    columns = list(zip(_HEADERS, *rows, strict=True))
    natural = [max(len(cell) for cell in column) for column in columns]
    least = [max((len(word) for cell in column for word in cell.split()), default=1) if i in _WRAPS
             else natural[i] for i, column in enumerate(columns)]
    least[4] = min(natural[4], len("Tue 03 Nov 10:00"))  # a due time is read whole
    room = total - 2 * (len(natural) - 1)
    if sum(natural) <= room:
        return natural
    widths = list(least)
    spare = room - sum(least)
    wants = {i: natural[i] - least[i] for i in _WRAPS if natural[i] > least[i]}
    while spare > 0 and wants:
        total_want = sum(wants.values())
        step = max(spare * min(wants.values()) // total_want, 1)
        for i in list(wants):
            give = min(wants[i], max(spare * wants[i] // total_want, step), spare)
            widths[i] += give
            spare -= give
            wants[i] -= give
            if wants[i] <= 0:
                del wants[i]
            if spare <= 0:
                break
    return widths


def table(rows: Sequence[Sequence[str]], width: int) -> list[str]:
    """Rows under the headers, columns wrapped to fit `width` characters."""
    widths = _widths(rows, width)
    lines = ["  ".join(h.ljust(w) for h, w in zip(_HEADERS, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    for row in rows:
        cells = [textwrap.wrap(cell, w, break_on_hyphens=False, break_long_words=False) or [""]
                 for cell, w in zip(row, widths, strict=True)]
        for n in range(max(len(c) for c in cells)):
            parts = [(c[n] if n < len(c) else "").ljust(w) for c, w in zip(cells, widths, strict=True)]
            lines.append("  ".join(parts).rstrip())
    return lines


def count_line(result: Evaluation) -> str:
    """'Duties: 3 overdue, 1 missed, 2 due, ...' in order of urgency, states with none left out."""
    counts = result.count()
    parts = [f"{counts[s.value]} {_LABEL[s]}" for s in STATE_ORDER if counts[s.value]]
    return "Duties: " + (", ".join(parts) if parts else "none")


def render_text(result: Evaluation, explain: bool = False, width: int | None = None,
                states: Iterable[DutyState] | None = None) -> str:
    """A readable report: counts per state, the duties table, escalations, upcoming triggers, findings."""
    width = width or shutil.get_terminal_size((120, 24)).columns
    wanted = None if states is None else frozenset(states)
    duties = [d for d in result.duties if wanted is None or d.state in wanted]
    out = [f"Protocol: {result.protocol}    as of {when(result.as_of)}", count_line(result), ""]
    if wanted is not None:
        out.insert(2, "Showing: " + ", ".join(_LABEL[s] for s in STATE_ORDER if s in wanted))
    out += table(_rows(duties), width) if duties else ["No duties are required." if wanted is None
                                                      else "No duties in these states."]
    for duty in duties:
        for step in duty.escalation:
            if step.state.value in ("active", "pending"):
                out.append(f"  escalation ({step.state.value}) {duty.rule}: {when(step.at)} to "
                           f"{', '.join(r.title for r in step.to)}: {step.action}")
    if explain:
        out += ["", "Explanations:", *_explanations(duties, width)]
    out += ["", "Upcoming (if the child is still missing where marked *):"]
    upcoming = [f"  {'*' if up.if_still_missing else ' '} {when(up.at)}  {up.title}  [{up.rule}, {up.source.section}]"
                for up in result.upcoming]
    out += upcoming or ["  nothing scheduled"]
    out += ["", "Findings:"]
    out += [f"  - [{f.check}] {f.episode or 'history'}: {f.finding}" for f in result.findings] or ["  none"]
    return "\n".join(out)


def _shown(value: object) -> str:
    """A fact's value as a person reads it: 'high', ['medium', 'high'], true, none."""
    if isinstance(value, tuple | list):
        return "[" + ", ".join(_shown(v) for v in value) + "]"
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "none"
    if isinstance(value, str):
        return repr(str(value))
    return str(value)


def _explanations(duties: Sequence[Duty], width: int) -> list[str]:
    wrap = textwrap.TextWrapper(width=max(width, 60), subsequent_indent="      ", break_on_hyphens=False)
    out = []
    for duty in duties:
        out.append(f"- {duty.rule} [{duty.episode} #{duty.occurrence}] {duty.title}: {_LABEL[duty.state]}")
        out += wrap.wrap(f"    clause {duty.source.section}: \"{duty.source.quote}\"")
        if duty.explanation:
            out += wrap.wrap(f"    why: {duty.explanation.state}")
            out += wrap.wrap(f"    deadline: {duty.explanation.deadline}")
            out += wrap.wrap(f"    conditions: {duty.explanation.conditions}")
            for test in duty.explanation.tests:
                mark = "held" if test.held else "did not hold"
                out.append(f"      {test.fact} = {_shown(test.value)}: {test.test} {_shown(test.expected)} {mark}")
            out += wrap.wrap(f"    {duty.explanation.clock}")
            if duty.explanation.counted:
                out.append(f"    episodes counted: {', '.join(duty.explanation.counted)}")
        if duty.interpretation:
            out += wrap.wrap(f"    interpretation: {duty.interpretation}")
    return out
