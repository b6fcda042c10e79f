"""One-line text: titles and names become e-mail subjects and headers, where a line break
ends the header (and a stray control character breaks it), so they are normalised on the
way in: CR, LF and other line or paragraph breaks become a space, other control and
direction-override characters are dropped, runs of spaces collapse."""

from __future__ import annotations

import re
import unicodedata

_BREAKS = re.compile(r"[\r\n\t\v\f\x85\u2028\u2029]+")
_SPACES = re.compile(r" {2,}")
# Bidirectional overrides and isolates can make a subject read differently than it is.
_BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def one_line(value):
    """``value`` as one clean line (anything but a string is returned as it is)."""
    if not isinstance(value, str):
        return value
    value = _BREAKS.sub(" ", value)
    value = "".join(c for c in value if c not in _BIDI and unicodedata.category(c) != "Cc")
    return _SPACES.sub(" ", value).strip()


class OneLineFieldsMixin:
    """Models whose ``one_line_fields`` are normalised on every save (forms, the admin, mail
    intake and the workflow all save through here); bulk writers call ``one_line`` themselves."""

    one_line_fields: tuple[str, ...] = ()

    def save(self, *args, **kwargs):
        for name in self.one_line_fields:
            setattr(self, name, one_line(getattr(self, name)))
        super().save(*args, **kwargs)
