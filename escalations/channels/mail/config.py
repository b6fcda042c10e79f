"""``MAILBOX_URLS`` entries: ``imap+ssl://user:pass@host:993/INBOX``, ``imap+starttls://``,
plain ``imap://`` (``imaps://`` is read as ``imap+ssl://``). The user and password may be
percent-encoded (``desk%40example.com``). The identity of a mailbox (``source``) leaves
the password out: the admin maps it to a category and team, the password stays in the
environment."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from django.conf import settings

SCHEMES = {"imap": ("plain", 143), "imap+starttls": ("starttls", 143), "imap+ssl": ("ssl", 993), "imaps": ("ssl", 993)}


class BadMailboxUrl(ValueError):
    pass


@dataclass(frozen=True)
class MailboxConfig:
    security: str  # plain | starttls | ssl
    host: str
    port: int
    username: str
    password: str = ""
    folder: str = "INBOX"

    @property
    def source(self) -> str:
        return f"{self.username}@{self.host}:{self.port}/{self.folder}"

    def __repr__(self) -> str:  # never print the password
        return f"MailboxConfig({self.security}, {self.source})"

    @classmethod
    def from_url(cls, url: str) -> MailboxConfig:
        parts = urlsplit(url.strip())
        scheme = parts.scheme.lower()
        if scheme not in SCHEMES:
            raise BadMailboxUrl(f"Unknown scheme {scheme!r} in MAILBOX_URLS: use one of {', '.join(SCHEMES)}.")
        security, default_port = SCHEMES[scheme]
        try:
            port = parts.port or default_port
        except ValueError:
            raise BadMailboxUrl(f"The port of the mailbox at {parts.hostname} is not a number.") from None
        if not parts.hostname or not parts.username:
            raise BadMailboxUrl("A MAILBOX_URLS entry needs a user and a host (scheme://user:pass@host:port/folder).")
        folder = unquote(parts.path.lstrip("/")) or "INBOX"
        return cls(security, parts.hostname, port, unquote(parts.username), unquote(parts.password or ""), folder)


def configured(urls: list[str] | None = None) -> list[MailboxConfig]:
    return [MailboxConfig.from_url(u) for u in (settings.MAILBOX_URLS if urls is None else urls) if u.strip()]


def source_choices() -> list[tuple[str, str]]:
    """The identities in ``MAILBOX_URLS`` for the admin's select (entries that cannot be read are left out)."""
    out = []
    for url in settings.MAILBOX_URLS:
        try:
            source = MailboxConfig.from_url(url).source
        except BadMailboxUrl:
            continue
        out.append((source, source))
    return out
