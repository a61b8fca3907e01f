"""The SMTP side of sending letters: settings read from the environment or a private file,
addresses checked and masked, and one message per letter over STARTTLS (the edge).

Nothing here prints or logs. The password is held by :class:`SmtpSettings` with no ``repr``;
no exception raised here holds it, nor the user name, nor an address in full.
"""

from __future__ import annotations

import contextlib
import os
import re
import smtplib
import ssl
import stat
from collections.abc import Mapping
from pathlib import Path

import attrs

from mt_access.errors import SendingError

__all__ = [
    "ENV_PREFIX",
    "SMTP_KEYS",
    "SmtpSettings",
    "clean_answer",
    "close",
    "connect",
    "deliver",
    "is_valid_address",
    "lost_reason",
    "mask_address",
]

ENV_PREFIX = "MT_ACCESS_SMTP_"
"""The environment variables: ``MT_ACCESS_SMTP_HOST``, ``_PORT``, ``_USER``, ``_PASSWORD``
(and ``_TIMEOUT`` in seconds, ``_CAFILE`` for a server certificate of a private authority)."""

SMTP_KEYS = ("HOST", "PORT", "USER", "PASSWORD", "TIMEOUT", "CAFILE")
"""The settings, each read from ``MT_ACCESS_SMTP_`` followed by the key."""

_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDRESS = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")
_IN_TEXT = re.compile(r"[^\s<>@\"']+@[^\s<>@\"']+")
_MAX_ANSWER = 300


def is_valid_address(address: str) -> bool:
    """Whether ``address`` is a plain e-mail address (``nom@domaine.fr``: no display name,
    no blank or line break, at most 254 characters)."""
    return len(address) <= 254 and _ADDRESS.fullmatch(address) is not None


def mask_address(address: str) -> str:
    """``d***@exemple.mssante.fr``: the first character and the domain, what a report and the
    register keep of an address."""
    local, at, domain = address.strip().rpartition("@")
    if not at or not local:
        return "***"
    return f"{local[0]}***@{domain}"


def clean_answer(text: str) -> str:
    """A server's answer as kept: one line, addresses masked, at most 300 characters."""
    one = " ".join(text.split())
    one = _IN_TEXT.sub(lambda m: mask_address(m.group(0)), one)
    return one[:_MAX_ANSWER]


@attrs.frozen
class SmtpSettings:
    """How to reach the CPTS's SMTP server (its MSSanté operator's, typically).

    Attributes:
        host: the server.
        port: its submission port (587 by default).
        user: the login (empty: no authentication).
        password: the password; never shown (no ``repr``).
        timeout: seconds to wait for the server at each step.
        cafile: a file of certificates to trust besides the system's (a private authority).
    """

    host: str
    port: int = 587
    user: str = attrs.field(default="", repr=False)
    password: str = attrs.field(default="", repr=False)
    timeout: float = 30.0
    cafile: str | None = None

    @classmethod
    def from_mapping(cls, values: Mapping[str, str], *, where: str) -> SmtpSettings:
        """Settings from ``MT_ACCESS_SMTP_*`` keys (the environment, or a file's lines).

        Raises:
            SendingError: no host, or a port or timeout that is not a number (the message
                names the key, never its value).
        """
        host = values.get(ENV_PREFIX + "HOST", "").strip()
        if not host:
            raise SendingError(f"serveur SMTP non indiqué : {ENV_PREFIX}HOST absent ({where})")
        numbers: dict[str, float] = {}
        for key, default in (("PORT", 587.0), ("TIMEOUT", 30.0)):
            raw = values.get(ENV_PREFIX + key, "").strip()
            try:
                numbers[key] = float(raw) if raw else default
            except ValueError:
                raise SendingError(f"{ENV_PREFIX}{key} : nombre attendu ({where})") from None
            if not 0 < numbers[key] <= 65535:
                raise SendingError(f"{ENV_PREFIX}{key} : valeur hors limites ({where})")
        return cls(
            host=host,
            port=int(numbers["PORT"]),
            user=values.get(ENV_PREFIX + "USER", ""),
            password=values.get(ENV_PREFIX + "PASSWORD", ""),
            timeout=numbers["TIMEOUT"],
            cafile=values.get(ENV_PREFIX + "CAFILE") or None,
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> SmtpSettings:
        """Settings from the environment variables :data:`ENV_PREFIX` ``HOST``, ``PORT``,
        ``USER``, ``PASSWORD``, ``TIMEOUT``, ``CAFILE``."""
        return cls.from_mapping(os.environ if environ is None else environ, where="environnement")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> SmtpSettings:
        """Settings from a file of ``KEY=value`` lines (the same keys as the environment;
        ``#`` starts a comment) that only its owner may read.

        Raises:
            SendingError: the file is missing, readable or writable by the group or others
                (``chmod 600`` expected), or holds a line that is not ``KEY=value`` (the
                message gives its number, never its text) or an unknown key (a misspelt
                ``MT_ACCESS_SMTP_PASSWORD`` would leave the password out).
        """
        file = Path(path)
        try:
            mode = file.stat().st_mode
        except OSError:
            raise SendingError(f"fichier de réglages SMTP introuvable : {file}") from None
        if not stat.S_ISREG(mode):
            raise SendingError(
                f"fichier de réglages SMTP {file} : c'est un dossier (ou un fichier spécial), "
                "pas un fichier de réglages « CLÉ=valeur »"
            )
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise SendingError(
                f"fichier de réglages SMTP {file} : lisible ou modifiable par d'autres que son "
                f"propriétaire (droits {stat.filemode(mode)}) ; faites « chmod 600 {file} »"
            )
        values: dict[str, str] = {}
        try:
            lines = file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError):
            raise SendingError(f"fichier de réglages SMTP illisible : {file}") from None
        for number, line in enumerate(lines, start=1):
            text = line.strip()
            if not text or text.startswith("#"):
                continue
            key, equal, value = text.partition("=")
            key = key.strip()
            if not equal or not key.startswith(ENV_PREFIX):  # the line may be a password
                raise SendingError(
                    f"fichier de réglages SMTP {file}, ligne {number} : "
                    f"« {ENV_PREFIX}CLÉ=valeur » attendu"
                )
            if key.removeprefix(ENV_PREFIX) not in SMTP_KEYS:
                known = ", ".join(ENV_PREFIX + k for k in SMTP_KEYS)
                raise SendingError(  # the key is not quoted either: it may hold a secret
                    f"fichier de réglages SMTP {file}, ligne {number} : clé inconnue (clés "
                    f"possibles : {known})"
                )
            values[key] = value.strip()
        return cls.from_mapping(values, where=str(file))

    def tls_context(self) -> ssl.SSLContext:
        """The TLS context: the system's authorities (and :attr:`cafile`), names checked."""
        try:
            return ssl.create_default_context(cafile=self.cafile)
        except (OSError, ssl.SSLError):
            raise SendingError("fichier de certificats SMTP (CAFILE) illisible") from None


def connect(settings: SmtpSettings, tls: ssl.SSLContext | None = None) -> smtplib.SMTP:
    """A connection to the server, switched to TLS (STARTTLS) and logged in.

    Raises:
        SendingError: the server offers no STARTTLS (nothing is sent in clear), or refuses
            the login (its code only).
        OSError, smtplib.SMTPException: the server cannot be reached or answers wrongly
            (the caller counts an attempt).
    """
    conn = smtplib.SMTP(settings.host, settings.port, timeout=settings.timeout)
    try:
        conn.ehlo()
        if not conn.has_extn("starttls"):
            raise SendingError(
                f"le serveur SMTP {settings.host} ne propose pas STARTTLS : rien n'est envoyé "
                "sans chiffrement"
            )
        conn.starttls(context=tls if tls is not None else settings.tls_context())
        conn.ehlo()
        if settings.user:
            try:
                conn.login(settings.user, settings.password)
            except smtplib.SMTPAuthenticationError as exc:
                raise SendingError(
                    f"le serveur SMTP {settings.host} refuse l'authentification "
                    f"(code {exc.smtp_code}) : vérifiez l'utilisateur et le mot de passe"
                ) from None
            except UnicodeEncodeError:
                raise SendingError(
                    "l'utilisateur ou le mot de passe SMTP contient des caractères non ASCII, "
                    "que l'authentification SMTP ne transmet pas"
                ) from None
            except smtplib.SMTPNotSupportedError:
                raise SendingError(
                    f"le serveur SMTP {settings.host} ne propose pas d'authentification"
                ) from None
    except BaseException:
        close(conn)
        raise
    return conn


def close(conn: smtplib.SMTP) -> None:
    """Say goodbye, or just drop the connection when the server is gone."""
    try:
        conn.quit()
    except (OSError, smtplib.SMTPException):
        conn.close()


def deliver(conn: smtplib.SMTP, sender: str, to: str, message: bytes) -> tuple[int, str]:
    """Send one message to one recipient: ``(code, answer)`` of the server's last reply
    (250 when accepted). A refusal at ``MAIL``, ``RCPT`` or ``DATA`` is returned, not raised.

    Raises:
        OSError (timeouts included), smtplib.SMTPServerDisconnected: the connection is lost.
    """
    answer: bytes | str
    code, answer = conn.mail(sender)
    if code == 250:
        code, answer = conn.rcpt(to)
    if code in (250, 251):
        try:
            code, answer = conn.data(message)
        except smtplib.SMTPDataError as exc:
            code, answer = exc.smtp_code, exc.smtp_error
    if code != 250:
        with contextlib.suppress(smtplib.SMTPServerDisconnected):
            conn.rset()
    text = answer.decode("utf-8", "replace") if isinstance(answer, bytes) else str(answer)
    return code, clean_answer(text)


def lost_reason(exc: BaseException) -> str:
    """The French reason of a lost connection (no detail from the exception: it may name an
    address)."""
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "délai dépassé : le serveur SMTP n'a pas répondu à temps"
    if isinstance(exc, ssl.SSLError):
        return "échec du chiffrement TLS avec le serveur SMTP"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return "connexion fermée par le serveur SMTP"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"réponse inattendue du serveur SMTP (code {exc.smtp_code})"
    return "serveur SMTP injoignable ou connexion perdue"
