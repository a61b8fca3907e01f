"""A local SMTP server for the sending tests: aiosmtpd on 127.0.0.1, STARTTLS with a throwaway
self-signed certificate (made with the ``openssl`` command), AUTH, and a handler that records
the messages and can refuse a recipient (550) or answer too late (a timeout).

Only the loopback interface is used. Tests skip when aiosmtpd or openssl is missing, unless
``MT_ACCESS_REQUIRE_SMTP=1`` (CI), where they fail instead.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import os
import shutil
import socket
import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import attrs
import pytest

__all__ = ["PASSWORD", "USER", "Received", "Recorder", "make_certificate", "require_smtp"]

USER = "utilisateur-smtp-test"
PASSWORD = "Sesame-0123-ne-pas-montrer"


def require_smtp() -> Any:
    """The aiosmtpd ``Controller`` class, or skip (fail under ``MT_ACCESS_REQUIRE_SMTP=1``)."""
    try:
        from aiosmtpd.controller import Controller
    except ImportError:
        if os.environ.get("MT_ACCESS_REQUIRE_SMTP") == "1":
            pytest.fail("aiosmtpd absent alors que MT_ACCESS_REQUIRE_SMTP=1")
        pytest.skip("aiosmtpd absent (extra dev)")
    return Controller


def make_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (or skip without openssl)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        if os.environ.get("MT_ACCESS_REQUIRE_SMTP") == "1":
            pytest.fail("openssl absent alors que MT_ACCESS_REQUIRE_SMTP=1")
        pytest.skip("openssl absent : pas de certificat pour tester STARTTLS")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@attrs.frozen
class Received:
    """A message the server accepted."""

    sender: str
    recipients: tuple[str, ...]
    message: EmailMessage
    authenticated: bool
    tls: bool


@attrs.define
class Recorder:
    """The server's handler: records messages; refuses ``refused`` recipients with 550;
    answers the next ``slow`` messages after ``delay`` seconds (the client gave up by then)."""

    messages: list[Received] = attrs.field(factory=list)
    refused: set[str] = attrs.field(factory=set)
    slow: int = 0
    delay: float = 3.0

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refused:
            return f"550 5.1.1 <{address}>: boîte aux lettres inconnue"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.slow > 0:
            self.slow -= 1
            await asyncio.sleep(self.delay)
            return "451 4.3.0 trop tard"
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        self.messages.append(
            Received(
                envelope.mail_from,
                tuple(envelope.rcpt_tos),
                parsed,
                bool(session.authenticated),
                session.ssl is not None,
            )
        )
        return "250 2.0.0 Message accepté"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def authenticator(server: Any, session: Any, envelope: Any, mechanism: str, data: Any) -> Any:
    from aiosmtpd.smtp import AuthResult, LoginPassword

    ok = (
        isinstance(data, LoginPassword)
        and data.login == USER.encode()
        and data.password == PASSWORD.encode()
    )
    return AuthResult(success=ok, handled=False)


def start(handler: Recorder, cert: Path | None, key: Path | None) -> Any:
    """A started controller (call ``.stop()``); STARTTLS and AUTH when a certificate is given."""
    controller_class = require_smtp()
    kwargs: dict[str, Any] = {}
    if cert is not None and key is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        kwargs = {
            "tls_context": context,
            "require_starttls": True,
            "authenticator": authenticator,
            "auth_require_tls": True,
        }
    controller = controller_class(
        handler, hostname="127.0.0.1", port=free_port(), ready_timeout=10, **kwargs
    )
    controller.start()
    return controller
