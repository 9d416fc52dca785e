"""rmfhc: local protocols for children who run away or go missing from home or care, as executable rules.

    >>> from rmfhc import load_protocol, read_history, evaluate
    >>> pack = load_protocol("dorset")
    >>> result = evaluate(pack, read_history("examples/dorset_child_in_care.json"), as_of)

See README.md for the API and docs/ for the pack, history and scenario formats.
"""

from ._version import __version__
from .dates import Duration, OfficeHours, add, age_on, next_working_day, working_days_after
from .errors import EvaluationError, HistoryError, PackError, Problem, RmfhcError, ScenarioError, UsageError
from .evaluate import (
    Duty,
    DutyState,
    Escalation,
    EscalationState,
    Evaluation,
    Finding,
    Upcoming,
    evaluate,
)
from .models import Child, DutyEvent, Episode, History, Placement, RiskGrading, load_history, read_history
from .pack import Pack, Rule, available_protocols, load_protocol, validate_pack

__all__ = [
    "Child",
    "Duration",
    "Duty",
    "DutyEvent",
    "DutyState",
    "Episode",
    "Escalation",
    "EscalationState",
    "Evaluation",
    "EvaluationError",
    "Finding",
    "History",
    "HistoryError",
    "OfficeHours",
    "Pack",
    "PackError",
    "Placement",
    "Problem",
    "RiskGrading",
    "RmfhcError",
    "Rule",
    "ScenarioError",
    "Upcoming",
    "UsageError",
    "__version__",
    "add",
    "age_on",
    "available_protocols",
    "evaluate",
    "load_history",
    "load_protocol",
    "next_working_day",
    "read_history",
    "validate_pack",
    "working_days_after",
]
