"""Packs the service evaluates against: the known packs by name only, or (when allowed) a pack sent in YAML.

A request never names a file: `protocol` must be one of `available_protocols()` (the packs shipped with rmfhc,
and those in the operator's $RMFHC_PROTOCOLS or ./protocols folders), looked up as `<folder>/<name>.yaml`.
"""

from __future__ import annotations

import re
import tempfile
from functools import lru_cache
from pathlib import Path
from typing import Any

from .._version import __version__
from ..errors import PackError, Problem
from ..pack import Pack, available_protocols, load_protocol, protocol_dirs, validate_pack
from .replies import RequestError

NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class PackUnavailable(RequestError):
    """A known pack that does not load on this server: the operator's problem, answered 503."""

    def __init__(self, message: str) -> None:
        super().__init__(message, status=503)


def _path_of(name: str) -> Path | None:
    for folder in protocol_dirs():
        path = folder / f"{name}.yaml"
        if path.is_file():
            return path
    return None


def known_pack(name: object) -> Pack:
    """The compiled pack called `name`; RequestError (400) for anything but a known pack's name."""
    if not isinstance(name, str):
        raise RequestError("protocol: must be a protocol name such as 'dorset'")
    known = available_protocols()
    if not NAME.match(name):
        raise RequestError(f"protocol: '{name[:80]}' is not a protocol name (the service takes names, never "
                           f"paths); known protocols: {', '.join(known)}")
    path = _path_of(name) if name in known else None
    if path is None:  # the command line's own words for an unknown name
        raise PackError([Problem(name, 0, 0, f"no protocol called '{name}'; known protocols: {', '.join(known)}")])
    try:
        return load_protocol(path)
    except PackError as error:
        raise PackUnavailable(f"the protocol '{name}' does not load on this server: {error}") from None


@lru_cache(maxsize=16)
def uploaded_pack(text: str) -> Pack:
    """Compile a pack sent as YAML text (only when the service allows it); PackError naming `pack:line:column`."""
    with tempfile.TemporaryDirectory(prefix="rmfhc-pack-") as folder:
        path = Path(folder) / "pack.yaml"
        path.write_text(text, encoding="utf-8")
        try:
            return validate_pack(path)
        except PackError as error:
            raise PackError([Problem("pack", p.line, p.column, p.message) for p in error.problems]) from None


def summary(pack: Pack) -> dict[str, Any]:
    """A pack's metadata, version and content hash: one entry of `GET /protocols`."""
    meta = pack.meta
    return {"id": meta.id, "area": meta.area, "title": meta.title, "publisher": meta.publisher,
            "version": meta.version, "review_date": None if meta.review_date is None else meta.review_date.isoformat(),
            "authorities": list(meta.authorities), "sha256": pack.content_hash, "rule_count": len(pack.rules),
            "check_count": len(pack.checks), "engine_version": __version__}


def detail(pack: Pack) -> dict[str, Any]:
    """`GET /protocols/{id}`: the summary, the roles, and each rule's id, duty, title and section."""
    return {**summary(pack),
            "roles": [{"key": r.key, "title": r.title, "role": r.role} for r in pack.roles.values()],
            "rules": [{"id": r.id, "duty": r.duty, "title": r.title, "section": r.source.section,
                       "deadline": r.deadline.text} for r in pack.rules],
            "checks": [{"id": c.id, "finding": c.finding, "section": c.source.section} for c in pack.checks]}
