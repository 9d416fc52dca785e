"""Protocol packs: reading, validating and compiling `protocols/*.yaml`.

A pack is read with the safe YAML loader, checked against the format in docs/pack-format.md (every problem
reported as file:line:column with a plain message), and compiled once into a `Pack` that evaluations reuse.

`spec`: the format as written; `model`: the compiled pack; `compiler`: validating and compiling, every problem
at once; `load`: finding packs by name, the vocabulary, and the cache of compiled packs.
"""

from .load import (
    available_protocols,
    is_vocabulary,
    load_protocol,
    load_vocabulary,
    protocol_dirs,
    resolve_protocol,
    shipped_protocols,
    validate_pack,
)
from .model import (
    DEFAULT_COUNTED,
    PSEUDO_EVENTS,
    Check,
    Clock,
    Deadline,
    DeadlineKind,
    EscalationStep,
    Holder,
    Pack,
    Repeat,
    Role,
    Rule,
    Source,
    Vocabulary,
    fitted,
    unused_roles,
)
from .spec import PHRASES, ClockFrom, OnReturn, PackSpec

__all__ = [
    "DEFAULT_COUNTED", "PHRASES", "PSEUDO_EVENTS", "Check", "Clock", "ClockFrom", "Deadline", "DeadlineKind",
    "EscalationStep", "Holder", "OnReturn", "Pack", "PackSpec", "Repeat", "Role", "Rule", "Source", "Vocabulary",
    "available_protocols", "fitted", "is_vocabulary", "load_protocol", "load_vocabulary", "protocol_dirs",
    "resolve_protocol", "shipped_protocols", "unused_roles", "validate_pack",
]
