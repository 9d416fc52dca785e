"""Finding packs by name, reading them and their vocabulary, and caching compiled packs by content."""

from __future__ import annotations

import dataclasses
import hashlib
import os
import threading
from collections import OrderedDict
from importlib import resources
from pathlib import Path
from typing import Any

from .. import _read, _yaml
from ..errors import PackError, Problem, wrong_type
from .compiler import compile_pack
from .model import Pack, Vocabulary


def shipped_protocols() -> Path:
    """The folder of packs shipped inside rmfhc (the package `rmfhc.protocols`, built from protocols/)."""
    # A wheel installs as plain files, so the resource is a real folder; str() of a zip path would not be.
    return Path(str(resources.files("rmfhc.protocols")))


def protocol_dirs() -> list[Path]:
    """Where pack names are looked up: $RMFHC_PROTOCOLS, ./protocols, then the packs shipped with rmfhc."""
    dirs = [Path(p) for p in os.environ.get("RMFHC_PROTOCOLS", "").split(os.pathsep) if p]
    return [*dirs, Path("protocols"), shipped_protocols()]


def resolve_protocol(name_or_path: str | Path) -> Path:
    """A pack path from a name (`dorset`) or a path (`protocols/dorset.yaml`)."""
    if not isinstance(name_or_path, str | Path):
        raise wrong_type("load_protocol", "name_or_path", "a pack name or path (str or pathlib.Path)", name_or_path)
    candidate = Path(name_or_path)
    if candidate.suffix in (".yaml", ".yml") or candidate.is_file():
        return candidate
    for folder in protocol_dirs():
        path = folder / f"{name_or_path}.yaml"
        if path.is_file():
            return path
    known = sorted({p.stem for d in protocol_dirs() if d.is_dir() for p in d.glob("*.yaml")} - {"vocabulary"})
    raise PackError([Problem(str(name_or_path), 0, 0,
                             f"no protocol called '{name_or_path}'; known protocols: {', '.join(known)}")])


def available_protocols() -> list[str]:
    """Names of the packs found in protocol_dirs()."""
    names = {p.stem for d in protocol_dirs() if d.is_dir() for p in d.glob("*.yaml")}
    return sorted(names - {"vocabulary"})


def _find_vocabulary(pack_path: Path) -> Path:
    beside = pack_path.parent / "vocabulary.yaml"
    if beside.is_file():
        return beside
    for folder in protocol_dirs():
        if (folder / "vocabulary.yaml").is_file():
            return folder / "vocabulary.yaml"
    raise PackError([Problem(str(pack_path), 0, 0, "cannot find protocols/vocabulary.yaml")])


def _read_bytes(path: Path, what: str) -> bytes:
    try:
        return _read.read_bytes(path, _read.MAX_PACK_BYTES, what)
    except _read.BadInput as error:
        raise PackError([error.problem]) from None


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# Vocabularies and compiled packs are cached by the SHA-256 of their bytes (a pack's key includes its
# vocabulary's), so an edited file is read afresh whatever its modification time, and the same content under
# another path (a copy, a revision checked out for `rmfhc diff`) is compiled once. A lock keeps the caches
# consistent when threads load packs.
_CACHE_LOCK = threading.Lock()
_VOCABULARIES: OrderedDict[str, Vocabulary] = OrderedDict()
_COMPILED: OrderedDict[tuple[str, str, str], Pack] = OrderedDict()  # (pack, vocabulary, path)
_CACHE_SIZE = 32


def _remember(cache: OrderedDict[Any, Any], key: Any, value: Any) -> None:
    with _CACHE_LOCK:
        cache[key] = value
        while len(cache) > _CACHE_SIZE:
            cache.popitem(last=False)


def _recall(cache: OrderedDict[Any, Any], key: Any) -> Any:
    with _CACHE_LOCK:
        value = cache.get(key)
        if value is not None:
            cache.move_to_end(key)
        return value


def _vocabulary(data: bytes, name: str) -> Vocabulary:
    key = _digest(data)
    cached: Vocabulary | None = _recall(_VOCABULARIES, key)
    if cached is not None:
        return cached
    try:
        text = _read.decode(data, name)
    except _read.BadInput as error:
        raise PackError([error.problem]) from None
    document, problems = _yaml.parse(text, name)
    if document is None or problems:
        raise PackError(problems)
    content = document.data
    bad = [document.problem([section], f"'{section}' must map each name to a one-line definition")
           for section in ("duties", "roles")
           if not isinstance(content, dict) or not isinstance(content.get(section), dict)]
    if bad:
        raise PackError(bad)
    vocabulary = Vocabulary(dict(content["duties"]), dict(content["roles"]))
    _remember(_VOCABULARIES, key, vocabulary)
    return vocabulary


def is_vocabulary(path: str | Path) -> bool:
    """True for a vocabulary file (protocols/vocabulary.yaml) rather than a pack."""
    return Path(path).name == "vocabulary.yaml"


def load_vocabulary(path: str | Path | None = None) -> Vocabulary:
    """Read protocols/vocabulary.yaml (or the file given)."""
    if path is None:
        path = _find_vocabulary(Path("protocols") / "x.yaml")
    if not isinstance(path, str | Path):
        raise wrong_type("load_vocabulary", "path", "a path (str or pathlib.Path)", path)
    return _vocabulary(_read_bytes(Path(path), "a vocabulary"), str(path))



def validate_pack(path: str | Path) -> Pack:
    """Read, validate and compile a pack; raise PackError listing every problem with its place."""
    if not isinstance(path, str | Path):
        raise wrong_type("validate_pack", "path", "a path (str or pathlib.Path)", path)
    path = Path(path)
    data = _read_bytes(path, "a pack")
    vocabulary_path = _find_vocabulary(path)
    return compile_pack(data, path, _vocabulary(_read_bytes(vocabulary_path, "a vocabulary"), str(vocabulary_path)))




def load_protocol(name_or_path: str | Path) -> Pack:
    """Load and compile a pack by name (`dorset`) or path. Compiled packs are cached within the process by
    the content of the pack and of its vocabulary: loading an unchanged pack again costs a read and a hash."""
    path = resolve_protocol(name_or_path)
    data = _read_bytes(path, "a pack")
    vocabulary_path = _find_vocabulary(path)
    vocabulary_data = _read_bytes(vocabulary_path, "a vocabulary")
    content = (_digest(data), _digest(vocabulary_data))
    key = (*content, str(path))
    pack: Pack | None = _recall(_COMPILED, key)
    if pack is None:
        with _CACHE_LOCK:
            same = next((p for k, p in _COMPILED.items() if k[:2] == content), None)
        # the same content under another path: the compiled pack is reused, with its own path
        pack = compile_pack(data, path, _vocabulary(vocabulary_data, str(vocabulary_path))) if same is None else \
            dataclasses.replace(same, path=str(path))
        _remember(_COMPILED, key, pack)
    return pack
