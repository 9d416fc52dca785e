"""`rmfhc diff AREA_A AREA_B`: two areas' protocols compared by duty, in sentences.

Two areas' packs share no rule ids and no wording, so their rules are aligned by what they are: the same
canonical duty kind, then the same clock and the most similar conditions. Each aligned pair says what differs,
one sentence per aspect ("strategy discussion (child in care): Northshire within 24 hours of the report to
police (9.3); Southshire within 72 hours of the report to police (4.2)"); a rule with no counterpart is an "only in"
line. Local titles differ between any two areas, so holders are compared by their canonical roles and shown
by their local titles.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ..conditions import All, Always, AnyOf, Condition, Leaf, Not
from ..pack import Check, Pack, Rule
from ..words import describe_condition, duty_words, either, episode_words, plain
from .base import Result
from .diff import canonical_condition
from .matrix import vocabulary_of
from .words import canonical_roles, describe_on_return, describe_repeat, describe_timing, duration_words, titles

LABEL = 60


class Side(Result):
    """A rule as one area has it."""

    rule: str
    clause: str
    text: str


class AspectDifference(Result):
    """One aspect of an aligned pair of rules that differs: what each area says."""

    aspect: str  # timing, applies to, holder, tells, on return, escalation, repeats, declining
    a: Side
    b: Side
    sentence: str


class AlignedRules(Result):
    """A rule of one area aligned with a rule of the other, and how they differ (empty: the same)."""

    label: str  # the duty kind and, where both rules apply to the same children, who they apply to
    a: str
    b: str
    differences: tuple[AspectDifference, ...]


class OnlyIn(Result):
    """A rule of one area with no counterpart in the other."""

    area: str
    rule: str
    sentence: str


class DutyDifference(Result):
    """One canonical duty kind in the two areas."""

    duty: str
    name: str
    aligned: tuple[AlignedRules, ...]
    only: tuple[OnlyIn, ...]

    @property
    def same(self) -> bool:
        return not self.only and all(not pair.differences for pair in self.aligned)


class AreaDiff(Result):
    """Two areas by duty. `equivalent` when every rule and finding aligns with no difference."""

    a: str  # labels as given (pack names or paths)
    b: str
    area_a: str  # the areas' names
    area_b: str
    equivalent: bool
    duties: tuple[DutyDifference, ...]
    findings: tuple[OnlyIn, ...]
    settings: tuple[str, ...]  # sentences


# ---------------------------------------------------------------------------------------------------------
# Aligning rules.


def _atoms(condition: Condition) -> set[str]:
    """The leaf tests of a condition, each canonical ("not ..." under a not): what two conditions share."""
    if isinstance(condition, Leaf):
        return {canonical_condition(condition)}
    if isinstance(condition, Not):
        return {f"not {atom}" for atom in _atoms(condition.part)}
    if isinstance(condition, All | AnyOf):
        return {atom for part in condition.parts for atom in _atoms(part)}
    return set()


def _jaccard(a: set[str], b: set[str]) -> float:
    return 1.0 if not a and not b else len(a & b) / len(a | b)


def _overlap(a: set[str], b: set[str]) -> float:
    """How much of the smaller set of tests the other shares: 1 when one rule's tests are all in the other's."""
    return 1.0 if not a and not b else len(a & b) / max(min(len(a), len(b)), 1)


def _score(x: Rule, y: Rule) -> float | None:
    """How alike two rules of one duty kind are, or None when they are not two ways of one duty: their clocks
    start from different moments, or they share no condition (unless one is for every child and the two start
    at the same delay). The same conditions count most, then the same delay, then deadline and holders."""
    if x.clock.start is not y.clock.start:
        return None
    atoms_x, atoms_y = _atoms(x.when), _atoms(y.when)
    same_delay = (x.clock.after, x.clock.if_still_missing) == (y.clock.after, y.clock.if_still_missing)
    if not atoms_x & atoms_y and ((atoms_x and atoms_y) or not same_delay):
        return None
    score = 3 * _overlap(atoms_x, atoms_y) + _jaccard(atoms_x, atoms_y) + 2 * same_delay
    score += 0.5 * ((x.deadline.kind, x.deadline.within) == (y.deadline.kind, y.deadline.within))
    score += 0.5 * (canonical_roles(x.roles) == canonical_roles(y.roles))
    return score


@dataclass(frozen=True, slots=True)
class _Alignment:
    pairs: list[tuple[Rule, Rule]]
    only_a: list[Rule]
    only_b: list[Rule]


def align(rules_a: Sequence[Rule], rules_b: Sequence[Rule]) -> _Alignment:
    """Pair the rules of one duty kind: rules whose clocks start from the same moment, most alike first (the
    same conditions, then the same delay, deadline and holders). An area with one rule of a kind pairs it with
    the other's one rule whatever their clocks: each is that area's way of doing the duty."""
    if len(rules_a) == 1 and len(rules_b) == 1:
        return _Alignment([(rules_a[0], rules_b[0])], [], [])
    scored = []
    for i, x in enumerate(rules_a):
        for j, y in enumerate(rules_b):
            score = _score(x, y)
            if score is not None:
                scored.append((score, i, j))
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    used_a: set[int] = set()
    used_b: set[int] = set()
    pairs: list[tuple[int, int]] = []
    for _, i, j in scored:
        if i not in used_a and j not in used_b:
            pairs.append((i, j))
            used_a.add(i)
            used_b.add(j)
    pairs.sort()
    return _Alignment([(rules_a[i], rules_b[j]) for i, j in pairs],
                      [rule for i, rule in enumerate(rules_a) if i not in used_a],
                      [rule for j, rule in enumerate(rules_b) if j not in used_b])


# ---------------------------------------------------------------------------------------------------------
# Saying what differs.


def _escalation_key(rule: Rule) -> tuple[tuple[int, str, tuple[str, ...]], ...]:
    return tuple(sorted((s.after.amount, str(s.after.unit), canonical_roles(s.to)) for s in rule.escalation))


def _escalation_words(rule: Rule) -> str:
    steps = []
    for step in rule.escalation:
        when = "at the deadline" if step.after.amount == 0 else f"{duration_words(step.after)} after it"
        steps.append(f"{when} to {titles(step.to)}")
    return "escalates " + "; ".join(steps) if steps else "no escalation"


def _recipient_words(rule: Rule) -> str:
    roles = [h.role for h in rule.recipients]
    return f"tells {titles(roles)}" if roles else "tells nobody"


def usual_episodes(pack: Pack) -> frozenset[str]:
    """The episode kinds most of a pack's rules apply to (its reading of "missing"), said once, not per rule."""
    counts = Counter(frozenset(k.value for k in rule.episodes) for rule in pack.rules)
    return counts.most_common(1)[0][0] if counts else frozenset({"missing"})


def _kinds(kinds: Iterable[str]) -> str:
    return either([episode_words(k) for k in sorted(kinds)])


def _episodes(rule: Rule, pack: Pack) -> tuple[object, str]:
    kinds = frozenset(k.value for k in rule.episodes)
    key: object = "usual" if kinds == usual_episodes(pack) else tuple(sorted(kinds))
    return key, f"for {_kinds(kinds)} episodes"


def _applies(rule: Rule, pack: Pack) -> str:
    """Who a rule applies to, its episode kinds only where they are not the pack's usual ones."""
    parts = []
    if frozenset(k.value for k in rule.episodes) != usual_episodes(pack):
        parts.append(f"{_kinds(k.value for k in rule.episodes)} episodes")
    if not isinstance(rule.when, Always):
        parts.append(describe_condition(rule.when, pack.meta.localities))
    return "; ".join(parts) or "every child"


_ASPECTS = ("timing", "applies to", "episodes", "holder", "tells", "on return", "escalation", "repeats",
            "declining")


def _aspects(rule: Rule, pack: Pack) -> dict[str, tuple[object, str]]:
    """Each aspect compared between areas: a key (canonical, so that local wording never counts) and words."""
    localities = pack.meta.localities
    clock = rule.clock
    return {
        "timing": ((clock.start, clock.after, clock.if_still_missing, clock.time_of_day, tuple(sorted(clock.levels)),
                    clock.duty, clock.count, clock.within, rule.deadline.kind, rule.deadline.within),
                   describe_timing(rule)),
        "applies to": (canonical_condition(rule.when), "applies to: " + describe_condition(rule.when, localities)),
        "episodes": _episodes(rule, pack),
        "holder": (canonical_roles(rule.roles), "holder " + titles(rule.roles)),
        "tells": (canonical_roles(h.role for h in rule.recipients), _recipient_words(rule)),
        "on return": (rule.on_return, describe_on_return(rule)),
        "escalation": (_escalation_key(rule), _escalation_words(rule)),
        "repeats": (None if rule.repeat is None else (rule.repeat.every, rule.repeat.until, rule.repeat.count,
                                                      rule.repeat.while_missing, rule.repeat.from_previous),
                    "repeats " + describe_repeat(rule) if rule.repeat is not None else "does not repeat"),
        "declining": (rule.can_be_declined, "the child may decline it" if rule.can_be_declined
                      else "the child may not decline it"),
    }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1].rstrip() + "…"


def _label(x: Rule, y: Rule, pack_a: Pack) -> str:
    name = duty_words(x.duty)
    if canonical_condition(x.when) != canonical_condition(y.when) or isinstance(x.when, Always):
        return name
    return f"{name} ({_cut(describe_condition(x.when, pack_a.meta.localities), LABEL)})"


def _pair(x: Rule, y: Rule, a: Pack, b: Pack) -> AlignedRules:
    name_a, name_b = a.meta.area, b.meta.area
    label = _label(x, y, a)
    aspects_a, aspects_b = _aspects(x, a), _aspects(y, b)
    differences = []
    for aspect in _ASPECTS:
        (key_a, text_a), (key_b, text_b) = aspects_a[aspect], aspects_b[aspect]
        if key_a == key_b:
            continue
        if aspect == "holder":  # "Northshire holder Return Home Interviewer; Southshire Missing Co-ordinator"
            text_b = text_b.removeprefix("holder ")
        sentence = f"{label}: {name_a} {text_a} ({x.source.section}); {name_b} {text_b} ({y.source.section})"
        differences.append(AspectDifference(
            aspect=aspect, a=Side(rule=x.id, clause=x.source.section, text=text_a),
            b=Side(rule=y.id, clause=y.source.section, text=text_b), sentence=sentence))
    return AlignedRules(label=label, a=x.id, b=y.id, differences=tuple(differences))


def _only(rule: Rule, pack: Pack) -> OnlyIn:
    applies = _applies(rule, pack)
    sentence = (f"only in {pack.meta.area}: {duty_words(rule.duty)} ({_cut(applies, LABEL)}) "
                f"{describe_timing(rule)}, held by {titles(rule.roles)} ({rule.source.section})")
    return OnlyIn(area=pack.meta.area, rule=rule.id, sentence=sentence)


def _finding_key(check: Check) -> tuple[str, tuple[str, ...]]:
    return canonical_condition(check.when), tuple(sorted(k.value for k in check.episodes or ()))


def _findings(a: Pack, b: Pack) -> list[OnlyIn]:
    """Findings one area flags and the other does not, matched by what they test (their wording differs)."""
    keys_b = {_finding_key(check) for check in b.checks}
    keys_a = {_finding_key(check) for check in a.checks}
    out = []
    for pack, checks, other in ((a, a.checks, keys_b), (b, b.checks, keys_a)):
        for check in checks:
            if _finding_key(check) not in other:
                out.append(OnlyIn(area=pack.meta.area, rule=check.id, sentence=(
                    f"finding only in {pack.meta.area}: {plain(check.finding)} "
                    f"({describe_condition(check.when, pack.meta.localities)}) ({check.source.section})")))
    return out


def _office(pack: Pack) -> str:
    hours = pack.spec.office_hours
    days = [day[:3].capitalize() for day in hours.days]
    span = f"{days[0]}-{days[-1]}" if len(days) > 2 else either(days, "and")
    return f"{span} {hours.opens}-{hours.closes}"


def _settings(a: Pack, b: Pack) -> list[str]:
    out = []
    if _office(a) != _office(b):
        out.append(f"office hours: {a.meta.area} {_office(a)}; {b.meta.area} {_office(b)}")
    readings_a = {phrase: r.allows for phrase, r in a.spec.readings.items()}
    readings_b = {phrase: r.allows for phrase, r in b.spec.readings.items()}
    for phrase in sorted(set(readings_a) | set(readings_b)):
        if readings_a.get(phrase) != readings_b.get(phrase):
            out.append(f"“{phrase}” read as: {a.meta.area} {readings_a.get(phrase, 'not read')}; "
                       f"{b.meta.area} {readings_b.get(phrase, 'not read')}")
    usual_a, usual_b = usual_episodes(a), usual_episodes(b)
    if usual_a != usual_b:
        out.append(f"most rules cover: {a.meta.area} {_kinds(usual_a)} episodes; {b.meta.area} {_kinds(usual_b)} "
                   "episodes")
    counted_a = _counted(a)
    counted_b = _counted(b)
    if counted_a != counted_b:
        out.append(f"missing episodes counted: {a.meta.area} {counted_a}; {b.meta.area} {counted_b}")
    return out


def _counted(pack: Pack) -> str:
    kinds = []
    for kind, spec in sorted(pack.spec.episode_kinds.items()):
        if spec.counted is True:
            kinds.append(episode_words(kind.value))
        elif spec.counted is not False:
            kinds.append(f"{episode_words(kind.value)} (some)")
    return either(kinds, "and") if pack.spec.episode_kinds else "missing, missing with family and absconded"


def diff_areas(a: Pack, b: Pack, label_a: str | None = None, label_b: str | None = None) -> AreaDiff:
    """Two areas' protocols by duty: rules aligned by duty kind, clock and conditions, differences in sentences."""
    order = [duty for duty in vocabulary_of([a, b]) if any(r.duty == duty for r in (*a.rules, *b.rules))]
    order += sorted({r.duty for r in (*a.rules, *b.rules)} - set(order))
    duties = []
    for duty in order:
        rules_a = [r for r in a.rules if r.duty == duty]
        rules_b = [r for r in b.rules if r.duty == duty]
        alignment = align(rules_a, rules_b)
        duties.append(DutyDifference(
            duty=duty, name=duty_words(duty), aligned=tuple(_pair(x, y, a, b) for x, y in alignment.pairs),
            only=tuple([*(_only(r, a) for r in alignment.only_a), *(_only(r, b) for r in alignment.only_b)])))
    findings = _findings(a, b)
    settings = _settings(a, b)
    equivalent = all(d.same for d in duties) and not findings and not settings
    return AreaDiff(a=label_a or a.id, b=label_b or b.id, area_a=a.meta.area, area_b=b.meta.area,
                    equivalent=equivalent, duties=tuple(duties), findings=tuple(findings),
                    settings=tuple(settings))


def _list(names: Iterable[str]) -> str:
    return ", ".join(names) or "none"


def render_area_diff(diff: AreaDiff) -> str:
    """Sentences grouped by duty kind, the kinds only one area has after them, then findings and settings."""
    differ = [d for d in diff.duties if not d.same and d.aligned]
    only_a = [d for d in diff.duties if not d.aligned and all(o.area == diff.area_a for o in d.only)]
    only_b = [d for d in diff.duties if not d.aligned and all(o.area == diff.area_b for o in d.only)]
    same = [d for d in diff.duties if d.same]
    out = [f"{diff.area_a} ({diff.a}) and {diff.area_b} ({diff.b}), by duty: rules aligned by duty kind, clock "
           "and conditions.",
           f"{len(diff.duties)} duty kinds: {len(same)} the same, {len(differ)} differ, {len(only_a)} only in "
           f"{diff.area_a}, {len(only_b)} only in {diff.area_b}."]
    if diff.equivalent:
        out.append("no differences")
    for group in (differ, only_a, only_b):
        for duty in group:
            out.append("")
            out += [d.sentence for pair in duty.aligned for d in pair.differences]
            out += [only.sentence for only in duty.only]
    if diff.findings:
        out += ["", *(f.sentence for f in diff.findings)]
    if diff.settings:
        out += ["", *diff.settings]
    if same:
        out += ["", f"The same in both: {_list(d.name for d in same)}."]
    return "\n".join(out) + "\n"
