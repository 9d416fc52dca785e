"""`rmfhc diff PACK PACK@REV`: two versions of one pack, rule by rule.

Rules are matched by id where the content says they are the same rule, otherwise by content: identical content
first (whatever the ids), then, within a canonical duty kind, the most similar rule with the same title,
quote or id. Renaming an id, reordering rules or reformatting the YAML is no difference. Every aspect is
shown in words (words.py); a key the format gains later is compared as written and shown in words.

Two different areas are compared by duty instead (areas.py): their ids and texts have nothing in common.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields, is_dataclass
from typing import Any

from pydantic import BaseModel

from ..conditions import All, Always, AnyOf, Condition, Leaf, Not
from ..pack import Check, Holder, Pack, Role, Rule
from ..words import describe_condition, duty_words, either, episode_words, plain, role_words, words
from .base import Result
from .words import (
    NONE,
    describe_clock,
    describe_deadline,
    describe_done_by,
    describe_escalation,
    describe_holder,
    describe_on_return,
    describe_repeat,
)


class FieldChange(Result):
    """One aspect of a rule (or setting) before and after."""

    field: str
    before: str
    after: str


class FieldValue(Result):
    field: str
    value: str


class RuleRef(Result):
    """A rule as named in one pack."""

    id: str
    duty: str
    title: str
    section: str


class RuleEntry(Result):
    """A rule added or removed, with its content."""

    rule: RuleRef
    fields: tuple[FieldValue, ...]


class RuleChange(Result):
    """A rule present in both packs with some content changed."""

    before: RuleRef
    after: RuleRef
    changes: tuple[FieldChange, ...]


class Renamed(Result):
    """A rule or check whose content is identical but whose id differs (not a difference)."""

    before: str
    after: str


class PackDiff(Result):
    """The semantic difference between two packs. `equivalent` when rules, checks and settings agree."""

    a: str
    b: str
    equivalent: bool
    added: tuple[RuleEntry, ...]
    removed: tuple[RuleEntry, ...]
    changed: tuple[RuleChange, ...]
    checks_added: tuple[RuleEntry, ...]
    checks_removed: tuple[RuleEntry, ...]
    checks_changed: tuple[RuleChange, ...]
    settings: tuple[FieldChange, ...]
    metadata: tuple[FieldChange, ...]  # the document's title, version...: shown, but not a difference
    renamed: tuple[Renamed, ...]


@dataclass(frozen=True, slots=True)
class _Facet:
    """One aspect of a rule: a key to compare (normalised) and the text to show."""

    name: str
    key: object
    text: str


def _flatten(condition: All | AnyOf) -> list[Condition]:
    """The parts of an `all` (or `any`), nested ones of the same kind opened: (a and (b and c)) = (a and b and c)."""
    parts: list[Condition] = []
    for part in condition.parts:
        parts += _flatten(part) if isinstance(part, All | AnyOf) and type(part) is type(condition) else [part]
    return parts


def canonical_condition(condition: Condition) -> str:
    """A condition in a canonical form: `all`/`any` flattened and sorted, so layout never matters."""
    if isinstance(condition, Always):
        return "always"
    if isinstance(condition, Leaf):
        expected = condition.expected
        if condition.test in ("in", "not_in") and isinstance(expected, list):
            expected = sorted(expected, key=json.dumps)
        return f"{condition.fact} {condition.test} {json.dumps(expected, sort_keys=True)}"
    if isinstance(condition, All | AnyOf):
        parts = sorted({canonical_condition(part) for part in _flatten(condition)})
        if len(parts) == 1:
            return parts[0]
        return f"{'all' if isinstance(condition, All) else 'any'}({' ; '.join(parts)})"
    if isinstance(condition, Not):
        return f"not({canonical_condition(condition.part)})"
    return condition.describe()  # a condition type added later: compare as the engine describes it


def _role_key(roles: Iterable[Role]) -> tuple[tuple[str, str], ...]:
    # Role keys are the pack's own names: renaming one is no difference, its title and canonical role are.
    return tuple(sorted({(plain(role.title), role.role) for role in roles}))


def _holder_key(holders: Iterable[Holder]) -> tuple[tuple[str, str, str], ...]:
    """Holders (or recipients) compared by title, canonical role and the children they hold the duty for."""
    return tuple(sorted({(plain(h.role.title), h.role.role, "" if h.when is None else canonical_condition(h.when))
                         for h in holders}))


def _holder_words(holders: Iterable[Holder], localities: Mapping[str, str]) -> str:
    return "; ".join(f"{describe_holder(h, localities)} ({role_words(h.role.role)})" for h in holders) or NONE


def _normal(value: object) -> object:
    """A compiled value with sets sorted and closures blanked: equal content gives an equal repr."""
    if callable(value) and not isinstance(value, type):
        return "<compiled>"
    if isinstance(value, frozenset | set):
        return tuple(sorted((_normal(v) for v in value), key=repr))
    if isinstance(value, tuple | list):
        return tuple(_normal(v) for v in value)
    if is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, *(_normal(getattr(value, f.name)) for f in fields(value)))
    return value


def _other_facets(spec: BaseModel, handled: frozenset[str]) -> list[_Facet]:
    """Facets for keys of the pack format that this module does not describe yet.

    The format grows; a key added to rules or checks still counts as a difference, shown as written. The
    keys are read from the rule as written (its spec), not the compiled rule, whose extra fields are
    derived (closures, cached durations) and would repeat a difference already shown.
    """
    written = spec.model_dump(mode="json", by_alias=True)
    return [_Facet(words(name), json.dumps(value, sort_keys=True), _written_words(value))
            for name, value in written.items() if name not in handled]


def _written_words(value: Any) -> str:
    """A value as written in YAML, in words rather than as JSON or Python: lists with commas, yes and no."""
    if value is None:
        return NONE
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(_written_words(item) for item in value) or NONE
    if isinstance(value, dict):
        return "; ".join(f"{words(str(key))}: {_written_words(item)}" for key, item in value.items()) or NONE
    return plain(str(value))


_RULE_KEYS = frozenset({
    "id", "refs", "duty", "title", "episodes", "when", "clock", "due", "allows", "on_return",
    "counts_earlier_events", "roles", "escalation", "source", "also_cites", "interpretation", "overrides",
    "done_by", "repeat", "recipients", "can_be_declined"})
_CHECK_KEYS = frozenset({"id", "refs", "finding", "episodes", "when", "source", "also_cites", "interpretation"})


def _core_facets(rule: Rule, spec: BaseModel, localities: Mapping[str, str]) -> list[_Facet]:
    """Each aspect of a rule: a normalised key (ids of roles and layout never matter) and its words."""
    deadline = rule.deadline
    steps = tuple(sorted((s.after.amount, str(s.after.unit), _role_key(s.to), plain(s.action))
                         for s in rule.escalation))
    return [
        _Facet("duty", rule.duty, duty_words(rule.duty)),
        _Facet("title", plain(rule.title), plain(rule.title)),
        _Facet("episodes", tuple(sorted(rule.episodes)), either([episode_words(k) for k in sorted(rule.episodes)])),
        _Facet("conditions", canonical_condition(rule.when), describe_condition(rule.when, localities)),
        _Facet("clock", repr(_normal(rule.clock)), describe_clock(rule)),
        _Facet("deadline", (deadline.kind, deadline.within), describe_deadline(deadline)),
        _Facet("on return", rule.on_return.value, describe_on_return(rule)),
        _Facet("counts earlier events", rule.counts_earlier_events, _yes(rule.counts_earlier_events)),
        _Facet("can be declined", rule.can_be_declined, _yes(rule.can_be_declined)),
        _Facet("repeat", repr(_normal(rule.repeat)), describe_repeat(rule)),
        _Facet("done by", tuple(sorted(rule.done_by)), describe_done_by(rule) or duty_words(rule.duty)),
        _Facet("holders", _holder_key(rule.holders), _holder_words(rule.holders, localities)),
        _Facet("recipients", _holder_key(rule.recipients), _holder_words(rule.recipients, localities)),
        _Facet("escalation", steps, describe_escalation(rule)),
        *_citation_facets(rule.source, rule.also_cites, rule.interpretation, rule.refs),
        *_other_facets(spec, _RULE_KEYS),
    ]


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _citation_facets(source: Any, also_cites: Iterable[Any], interpretation: str | None,
                     refs: Iterable[str]) -> list[_Facet]:
    """The facets a rule and a check share: clause, quote, further citations, interpretation, refs."""
    note = plain(interpretation or "")
    return [
        _Facet("section", source.section, source.section),
        _Facet("quote", plain(source.quote), plain(source.quote)),
        _cites(also_cites),
        _Facet("interpretation", note, note or NONE),
        _Facet("refs", tuple(sorted(refs)), ", ".join(sorted(refs)) or NONE),
    ]


def _cites(cites: Iterable[Any]) -> _Facet:
    pairs = tuple(sorted((c.section, plain(c.quote)) for c in cites))
    return _Facet("also cites", pairs, "; ".join(f"{s}: {q}" for s, q in pairs) or NONE)


def _rule_facets(pack: Pack) -> dict[str, list[_Facet]]:
    """Every rule's facets, by id (overrides aside: they name rules by id, see `_overrides_change`)."""
    written = {spec.id: spec for spec in pack.spec.rules}
    return {rule.id: _core_facets(rule, written[rule.id], pack.meta.localities) for rule in pack.rules}


def _overrides_change(a: Pack, b: Pack, x: str, y: str, same: Mapping[str, str]) -> FieldChange | None:
    """`overrides` compared through the matching: the rules it names in `a` must be those it names in `b`."""
    before, after = a.rule(x).overrides, b.rule(y).overrides
    if sorted(same.get(other, "") for other in before) == sorted(after):
        return None

    def titles(pack: Pack, ids: Iterable[str]) -> str:
        return "; ".join(sorted(f"{plain(pack.rule(i).title)} ({i})" for i in ids)) or NONE

    return FieldChange(field="overrides", before=titles(a, before), after=titles(b, after))


def _check_facets(pack: Pack) -> dict[str, list[_Facet]]:
    facets: dict[str, list[_Facet]] = {}
    written = {spec.id: spec for spec in pack.spec.checks}
    for check in pack.checks:
        episodes = tuple(sorted(check.episodes)) if check.episodes is not None else None
        facets[check.id] = [
            _Facet("finding", plain(check.finding), plain(check.finding)),
            _Facet("episodes", episodes, either([episode_words(k) for k in episodes]) if episodes else "all"),
            _Facet("conditions", canonical_condition(check.when), describe_condition(check.when, pack.meta.localities)),
            *_citation_facets(check.source, check.also_cites, check.interpretation, check.refs),
            *_other_facets(written[check.id], _CHECK_KEYS),
        ]
    return facets


def _fingerprint(facets: list[_Facet]) -> str:
    return repr(tuple(f.key for f in facets))


# Facets that identify "the same rule" when its content has changed in other ways (with the id).
_IDENTIFYING = ("title", "quote", "finding")


def _similarity(a: list[_Facet], b: list[_Facet], same_id: bool) -> int:
    """How alike two rules of one duty kind are; -1 when nothing identifies them as one rule changed."""
    equal = {x.name for x, y in zip(a, b, strict=True) if x.key == y.key}
    if not same_id and not equal.intersection(_IDENTIFYING):
        return -1
    return len(equal) + (len(a) if same_id else 0)


@dataclass(frozen=True, slots=True)
class _Matching:
    same: list[tuple[str, str]]  # identical content: (id in a, id in b)
    pairs: list[tuple[str, str]]  # changed
    removed: list[str]
    added: list[str]


def _group(facets: dict[str, list[_Facet]]) -> dict[str, list[str]]:
    """Ids by the first facet (duty kind for rules), in pack order."""
    groups: dict[str, list[str]] = {}
    for rule_id, rule_facets in facets.items():
        groups.setdefault(str(rule_facets[0].key), []).append(rule_id)
    return groups


def _match(a: dict[str, list[_Facet]], b: dict[str, list[_Facet]], by_kind: bool) -> _Matching:
    """Match rules of two packs: identical content first (whatever the ids), then the most similar pairs."""
    same: list[tuple[str, str]] = []
    left, right = list(a), list(b)
    by_print: dict[str, list[str]] = {}
    for rule_id in right:
        by_print.setdefault(_fingerprint(b[rule_id]), []).append(rule_id)
    for rule_id in list(left):
        twins = by_print.get(_fingerprint(a[rule_id]), [])
        if twins:
            # Prefer the twin with the same id so that a duplicated rule pairs up sensibly.
            twin = rule_id if rule_id in twins else twins[0]
            twins.remove(twin)
            left.remove(rule_id)
            right.remove(twin)
            same.append((rule_id, twin))
    groups_a = _group({k: a[k] for k in left}) if by_kind else {"": left}
    groups_b = _group({k: b[k] for k in right}) if by_kind else {"": right}
    pairs: list[tuple[str, str]] = []
    for kind, ids_a in groups_a.items():
        candidates = [(_similarity(a[x], b[y], x == y), x, y) for x in ids_a for y in groups_b.get(kind, [])]
        scored = sorted(candidates, key=lambda item: (-item[0], left.index(item[1]), right.index(item[2])))
        used: set[str] = set()
        for score, x, y in scored:
            if score >= 0 and x not in used and y not in used:
                pairs.append((x, y))
                used.update((x, y))
    paired_a = {x for x, _ in pairs}
    paired_b = {y for _, y in pairs}
    return _Matching(same=same, pairs=sorted(pairs, key=lambda p: right.index(p[1])),
                     removed=[x for x in left if x not in paired_a],
                     added=[y for y in right if y not in paired_b])


def _rule_ref(pack: Pack, rule_id: str) -> RuleRef:
    rule = pack.rule(rule_id)
    return RuleRef(id=rule.id, duty=rule.duty, title=plain(rule.title), section=rule.source.section)


def _check_ref(pack: Pack, check_id: str) -> RuleRef:
    check: Check = next(c for c in pack.checks if c.id == check_id)
    return RuleRef(id=check.id, duty="check", title=plain(check.finding), section=check.source.section)


def _changes(a: list[_Facet], b: list[_Facet]) -> tuple[FieldChange, ...]:
    return tuple(FieldChange(field=x.name, before=x.text, after=y.text)
                 for x, y in zip(a, b, strict=True) if x.key != y.key)


def _entries(pack: Pack, ids: list[str], facets: dict[str, list[_Facet]],
             ref: Callable[[Pack, str], RuleRef]) -> tuple[RuleEntry, ...]:
    return tuple(RuleEntry(rule=ref(pack, i), fields=tuple(FieldValue(field=f.name, value=f.text)
                                                           for f in facets[i])) for i in ids)


def _settings(a: Pack, b: Pack) -> tuple[FieldChange, ...]:
    """Pack-wide settings that change what rules require (office hours, authorities...), and not_encoded."""
    def office(pack: Pack) -> str:
        hours = pack.spec.office_hours
        return f"{', '.join(hours.days)} {hours.opens}-{hours.closes}"

    def not_encoded(pack: Pack) -> tuple[str, ...]:
        return tuple(sorted(f"{', '.join(sorted(n.refs))} ({n.section}): {plain(n.reason)}"
                            for n in pack.spec.not_encoded))

    changes = []
    for name, before, after in (
        ("office hours", office(a), office(b)),
        ("authorities", "; ".join(sorted(a.authorities)), "; ".join(sorted(b.authorities))),
        ("localities", json.dumps(a.meta.localities, sort_keys=True),
         json.dumps(b.meta.localities, sort_keys=True)),
    ):
        if before != after:
            changes.append(FieldChange(field=name, before=before, after=after))
    gone = [n for n in not_encoded(a) if n not in not_encoded(b)]
    new = [n for n in not_encoded(b) if n not in not_encoded(a)]
    if gone or new:
        changes.append(FieldChange(field="not encoded", before=" / ".join(gone) or NONE,
                                   after=" / ".join(new) or NONE))
    return tuple(changes)


def _metadata(a: Pack, b: Pack) -> tuple[FieldChange, ...]:
    fields = ("id", "area", "title", "publisher", "version", "seed", "review_date")
    before, after = a.meta.model_dump(), b.meta.model_dump()
    return tuple(FieldChange(field=name, before=str(before[name]), after=str(after[name]))
                 for name in fields if before[name] != after[name])


def diff_packs(a: Pack, b: Pack, label_a: str | None = None, label_b: str | None = None) -> PackDiff:
    """The semantic difference from pack `a` to pack `b`: rules and checks added, removed and changed.

    Rules are matched by canonical duty kind and normalised content, not by id: renaming an id, reordering
    rules or reformatting the YAML is no difference. The document's metadata (title, version...) is
    reported but does not make the packs differ.
    """
    facets_a, facets_b = _rule_facets(a), _rule_facets(b)
    rules = _match(facets_a, facets_b, by_kind=True)
    checks_a, checks_b = _check_facets(a), _check_facets(b)
    checks = _match(checks_a, checks_b, by_kind=False)
    changed = _rule_changes(a, b, rules, facets_a, facets_b)
    checks_changed = tuple(RuleChange(before=_check_ref(a, x), after=_check_ref(b, y),
                                      changes=_changes(checks_a[x], checks_b[y])) for x, y in checks.pairs)
    settings = _settings(a, b)
    differs = bool(changed or rules.added or rules.removed or checks_changed or checks.added
                   or checks.removed or settings)
    changed_ids = {(c.before.id, c.after.id) for c in changed}
    renamed = [(x, y) for x, y in rules.same if x != y and (x, y) not in changed_ids]
    renamed += [(x, y) for x, y in checks.same if x != y]
    return PackDiff(
        a=label_a or a.id, b=label_b or b.id, equivalent=not differs,
        added=_entries(b, rules.added, facets_b, _rule_ref),
        removed=_entries(a, rules.removed, facets_a, _rule_ref),
        changed=changed, checks_added=_entries(b, checks.added, checks_b, _check_ref),
        checks_removed=_entries(a, checks.removed, checks_a, _check_ref), checks_changed=checks_changed,
        settings=settings, metadata=_metadata(a, b),
        renamed=tuple(Renamed(before=x, after=y) for x, y in renamed))


def _rule_changes(a: Pack, b: Pack, rules: _Matching, facets_a: dict[str, list[_Facet]],
                  facets_b: dict[str, list[_Facet]]) -> tuple[RuleChange, ...]:
    """Matched rules whose content differs, in `b`'s order; `overrides` is compared through the matching."""
    corresponding = dict(rules.same + rules.pairs)
    order = {rule.id: i for i, rule in enumerate(b.rules)}
    changed = []
    for x, y in sorted(rules.same + rules.pairs, key=lambda pair: order[pair[1]]):
        changes = list(_changes(facets_a[x], facets_b[y]))
        overrides = _overrides_change(a, b, x, y, corresponding)
        if overrides is not None:
            changes.append(overrides)
        if changes:
            changed.append(RuleChange(before=_rule_ref(a, x), after=_rule_ref(b, y), changes=tuple(changes)))
    return tuple(changed)


def _ref_line(ref: RuleRef) -> str:
    kind = "finding" if ref.duty == "check" else duty_words(ref.duty)
    return f"{kind}: “{ref.title}” ({ref.section}; {ref.id})"


def _change_lines(changes: Iterable[FieldChange], indent: str) -> list[str]:
    out = []
    for change in changes:
        if len(change.before) + len(change.after) <= 90:
            out.append(f"{indent}{change.field}: {change.before} -> {change.after}")
        else:
            out += [f"{indent}{change.field}:", f"{indent}  before: {change.before}",
                    f"{indent}  after:  {change.after}"]
    return out


_SHOWN = ("conditions", "episodes", "clock", "deadline", "holders", "escalation", "quote", "finding")


def _entry_lines(title: str, mark: str, entries: Sequence[RuleEntry]) -> list[str]:
    if not entries:
        return []
    out = [f"{title} ({len(entries)}):"]
    for entry in entries:
        out.append(f"  {mark} {_ref_line(entry.rule)}")
        out += [f"      {f.field}: {f.value}" for f in entry.fields if f.field in _SHOWN]
    return out


def _changed_lines(title: str, changes: Sequence[RuleChange]) -> list[str]:
    if not changes:
        return []
    out = [f"{title} ({len(changes)}):"]
    for change in changes:
        before, after = change.before.id, change.after.id
        renamed = "" if before == after else f" (was {before})"
        out.append(f"  ~ {_ref_line(change.after)}{renamed}")
        out += _change_lines(change.changes, "      ")
    return out


def render_pack_diff(diff: PackDiff) -> str:
    """The diff for people: "no differences", or rules changed, removed and added, each aspect before -> after."""
    out = [f"{diff.a} -> {diff.b}"]
    if diff.equivalent:
        out.append("no differences")
    out += _changed_lines("Changed rules", diff.changed)
    out += _entry_lines("Removed rules", "-", diff.removed)
    out += _entry_lines("Added rules", "+", diff.added)
    out += _changed_lines("Changed findings", diff.checks_changed)
    out += _entry_lines("Removed findings", "-", diff.checks_removed)
    out += _entry_lines("Added findings", "+", diff.checks_added)
    if diff.settings:
        out += ["Changed settings:", *_change_lines(diff.settings, "  ")]
    if diff.metadata:
        out += ["The document's details (not a difference in duties):", *_change_lines(diff.metadata, "  ")]
    if diff.renamed:
        out.append("Renamed ids, same content (not a difference):")
        out += [f"  {r.before} -> {r.after}" for r in diff.renamed]
    if not diff.equivalent:
        out.append(f"{len(diff.changed)} rules changed, {len(diff.added)} added, {len(diff.removed)} "
                   f"removed; {len(diff.checks_changed)} findings changed, {len(diff.checks_added)} added, "
                   f"{len(diff.checks_removed)} removed; {len(diff.settings)} settings changed")
    return "\n".join(out) + "\n"
