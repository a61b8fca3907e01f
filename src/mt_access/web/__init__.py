"""``mt-access serve``: a local web application over a register, for the CPTS's coordinators.

The package is an edge of mt-access: it imports the library, the library never imports it. The
pages call the same :class:`~mt_access.register.Register` operations as the command line and
hold no business rule. Flask and its extensions are imported only by
:mod:`mt_access.web.app` and the modules of the pages (the ``web`` extra:
``pip install 'mt-access[web]'``); :mod:`mt_access.web.accounts` needs only argon2-cffi, for
``mt-access utilisateur``.

* :func:`mt_access.web.app.create_app` builds the application;
* :mod:`mt_access.web.auth`: login, logout, the role decorator :func:`~mt_access.web.auth.requires`
  and :func:`~mt_access.web.auth.audit`;
* :mod:`mt_access.web.accounts`: accounts, passwords (Argon2), throttling, the audit trail.

See ``docs/web.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mt_access.web.app import create_app

__all__ = ["create_app"]


def __getattr__(name: str) -> Any:
    if name == "create_app":
        from mt_access.web.app import create_app

        return create_app
    raise AttributeError(f"module 'mt_access.web' has no attribute {name!r}")
