"""Comparison of protocol packs for auditors: `rmfhc compare` and `rmfhc diff`.

Built on the canonical duty kinds of protocols/vocabulary.yaml, never on rule ids or YAML layout; nothing here
knows an area, every difference shown comes from the packs. One idea per module:

- words.py: rules and conditions in plain English ("child in care and aged under 12").
- matrix.py: `compare_packs`, the areas side by side, a row per duty kind.
- render.py: the comparison as terminal text, Markdown, CSV and a self-contained HTML page.
- diff.py: `diff_packs`, two versions of one pack, rule by rule.
- areas.py: `diff_areas`, two areas' packs by duty, in sentences.
- behaviour.py: `diff_behaviour`, the same histories through two packs, everything a user sees.
- corpus.py: the histories of a corpus folder, read recursively.
- revisions.py: packs named on the command line, `PATH@REV` from git.
- cli.py: the `compare` and `diff` commands.
"""

from .areas import AreaDiff, diff_areas, render_area_diff
from .base import ComparisonError
from .behaviour import BehaviourDiff, diff_behaviour, render_behaviour
from .corpus import Corpus, read_corpus
from .diff import FieldChange, PackDiff, RuleChange, RuleEntry, diff_packs, render_pack_diff
from .matrix import Comparison, ComparisonRow, RuleSummary, compare_packs
from .render import render_comparison
from .revisions import load_at_revision, load_pack_ref

__all__ = [
    "AreaDiff", "BehaviourDiff", "Comparison", "ComparisonError", "ComparisonRow", "Corpus", "FieldChange",
    "PackDiff", "RuleChange", "RuleEntry", "RuleSummary", "compare_packs", "diff_areas", "diff_behaviour",
    "diff_packs", "load_at_revision", "load_pack_ref", "read_corpus", "render_area_diff", "render_behaviour",
    "render_comparison", "render_pack_diff",
]
