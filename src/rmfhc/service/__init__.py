"""rmfhc as an HTTP service (`rmfhc serve`; docs/service.md). Needs the `serve` extra: fastapi and uvicorn.

    >>> from rmfhc.service import Settings, create_app
    >>> app = create_app(Settings(time_limit=5))   # an ASGI app; or serve(Settings(), "127.0.0.1", 8000)

The names are imported on first use, so that `rmfhc.service.settings` and the request readers can be
imported without the web framework.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import create_app
    from .server import serve
    from .settings import Settings

__all__ = ["Settings", "create_app", "serve"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from .app import create_app

        return create_app
    if name == "serve":
        from .server import serve

        return serve
    if name == "Settings":
        from .settings import Settings

        return Settings
    raise AttributeError(f"module 'rmfhc.service' has no attribute '{name}'")
