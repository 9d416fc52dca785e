"""Running the service with uvicorn."""

from __future__ import annotations

from .settings import Settings


def serve(settings: Settings, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve until stopped (Ctrl-C or SIGTERM), with `settings.workers` evaluating processes."""
    import uvicorn

    from .app import create_app

    uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, server_header=False)
