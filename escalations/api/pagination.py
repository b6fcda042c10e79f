"""Keyset pages over the case id, newest first, with an opaque signed cursor: a page
costs the same at the millionth case as at the first, and a cursor that was edited or
made up is a 400, not a wrong page."""

from __future__ import annotations

from django.conf import settings
from django.core import signing
from rest_framework.exceptions import ValidationError

SALT = "escalations.api.cursor"


def encode(last_pk: int) -> str:
    return signing.dumps(last_pk, salt=SALT, compress=False)


def decode(cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        value = signing.loads(cursor, salt=SALT)
    except signing.BadSignature:
        raise ValidationError({"cursor": "The cursor is not one this API gave out; start again without it."}) from None
    if not isinstance(value, int) or value < 1:
        raise ValidationError({"cursor": "The cursor is damaged; start again without it."})
    return value


def page_size(raw: str | None) -> int:
    limit = settings.API_PAGE_SIZE
    if raw in (None, ""):
        return limit
    if not str(raw).isdigit() or not 1 <= int(raw) <= 200:
        raise ValidationError({"limit": "The limit must be a whole number from 1 to 200."})
    return int(raw)
