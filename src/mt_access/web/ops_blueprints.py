"""The operations pages' blueprints (import, month's run and letters, map, report, exports),
registered on the application by :func:`register_ops`."""

from __future__ import annotations

from flask import Flask

__all__ = ["register_ops"]


def register_ops(app: Flask) -> None:
    """Add the import, run and downloads blueprints to ``app``."""
    from mt_access.web import ops_downloads, ops_import, ops_run

    app.register_blueprint(ops_import.blueprint)
    app.register_blueprint(ops_run.blueprint)
    app.register_blueprint(ops_downloads.blueprint)
