"""Small packs and histories written into a test's folder, for the comparison tests (tests/test_compare_*.py)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from conftest import PROTOCOLS
from rmfhc.pack import Pack, load_protocol

ROOT = Path(__file__).resolve().parents[1]
DORSET = PROTOCOLS / "dorset.yaml"
EXAMPLES = ROOT / "examples"
DOCS = ROOT / "docs"

SMALL_PACK = """\
protocol:
  id: {id}
  area: {area}
  title: Test protocol
  version: "1"
  seed: none.txt
readings:
  immediately: {{allows: 1 hour, interpretation: within the hour in this test pack}}
roles:
  tm: {{title: Team Manager, role: team_manager}}
  sm: {{title: Service Manager, role: service_manager}}
  sw: {{title: Social Worker, role: social_worker}}
rules:
  - id: strategy-child-in-care
    duty: strategy_discussion
    title: Strategy discussion for a child in care
    when: {{child.looked_after: true}}
    clock: {{from: reported}}
    due: within {hours} hours
    on_return: {on_return}
    roles: [{holder}]
    escalation:
      - {{after: {escalate_after} hours, to: [sm], action: alert the service manager}}
    source: {{section: "1.1", quote: A strategy discussion is held.}}
{extra}
"""

EXTRA_RULE = """\
  - id: tell-social-worker
    duty: inform_social_worker
    title: The social worker is told
    clock: {from: reported}
    due: immediately
    roles: [sw]
    source: {section: "2.1", quote: The social worker is told.}
"""


def copy_beside_vocabulary(folder: Path, text: str, name: str = "dorset.yaml") -> Path:
    """Write a pack into `folder` with the vocabulary beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(PROTOCOLS / "vocabulary.yaml", folder / "vocabulary.yaml")
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def small_pack_text(pack_id: str = "small", hours: int = 24, extra: str = "", *, holder: str = "tm",
                    on_return: str = "continues", escalate_after: int = 0, area: str | None = None) -> str:
    """The text of a one-rule pack (a strategy discussion for a child in care), with what a test changes."""
    return SMALL_PACK.format(id=pack_id, area=area or pack_id.title(), hours=hours, extra=extra, holder=holder,
                             on_return=on_return, escalate_after=escalate_after)


def small_pack(folder: Path, pack_id: str = "small", hours: int = 24, extra: str = "", **changes: Any) -> Pack:
    """A one-rule pack loaded from `folder`."""
    text = small_pack_text(pack_id, hours, extra, **changes)
    return load_protocol(copy_beside_vocabulary(folder, text, f"{pack_id}.yaml"))


# A child in care reported missing at 22:00 on Monday 2 November 2026 and found at 12:00 on Tuesday, before the
# 24-hour strategy discussion was due (22:00 Tuesday).
HISTORY: dict[str, Any] = {
    "child": {"id": "found-tuesday", "date_of_birth": "2012-05-02", "looked_after": True},
    "episodes": [{"id": "E1", "kind": "missing", "last_seen_at": "2026-11-02T21:00:00+00:00",
                  "reported_at": "2026-11-02T22:00:00+00:00", "found_at": "2026-11-03T12:00:00+00:00"}],
}


def write_history(path: Path, history: dict[str, Any] | None = None) -> Path:
    """Write a history as JSON; return its path."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(history or HISTORY), encoding="utf-8")
    return path
