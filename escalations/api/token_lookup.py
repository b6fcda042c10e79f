"""The token lookup every API request makes, as one statement written once per process.

The ORM compiled the token's three-table query (token, user, staff profile) anew for every
request: measured, more than half of the CPU a monitoring redelivery costs. The statement is
the same as ``ApiToken.objects.active().select_related("user__staff_profile")`` (an active
token of an active user), its columns taken from the models' own field lists, so a field
added to a model is read too; the rows become model instances with ``Model.from_db``, as the
ORM makes them. Nothing is cached but the text of the statement: a revoked token or a
deactivated user is refused from the next request on, in every process.
"""

from __future__ import annotations

from functools import cache

from django.contrib.auth import get_user_model
from django.db import connections

from escalations.models import ApiToken, StaffProfile


def _models():
    return ApiToken, get_user_model(), StaffProfile


@cache
def _statement() -> tuple[str, tuple[list[str], ...]]:
    token, user, profile = (m._meta for m in _models())
    q = connections[ApiToken.objects.db].ops.quote_name

    def cols(alias, meta):
        return [f"{alias}.{q(f.column)}" for f in meta.concrete_fields]

    columns = cols("t", token) + cols("u", user) + cols("p", profile)
    sql = (
        f"SELECT {', '.join(columns)} FROM {q(token.db_table)} t "
        f"JOIN {q(user.db_table)} u ON u.{q(user.pk.column)} = t.{q(token.get_field('user').column)} "
        f"LEFT JOIN {q(profile.db_table)} p ON p.{q(profile.get_field('user').column)} = u.{q(user.pk.column)} "
        f"WHERE t.{q(token.get_field('key_hash').column)} = %s AND t.{q(token.get_field('revoked_at').column)} IS NULL "
        f"AND u.{q(user.get_field('is_active').column)}"
    )
    return sql, tuple([f.attname for f in meta.concrete_fields] for meta in (token, user, profile))


def active_token(key_hash: str) -> ApiToken | None:
    """The active token with this digest, its ``user`` and the user's ``staff_profile`` loaded
    (the profile cached as missing for a user without one, as ``select_related`` does)."""
    db = ApiToken.objects.db
    connection = connections[db]
    sql, (token_names, user_names, profile_names) = _statement()
    with connection.cursor() as cursor:
        cursor.execute(sql, [key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    token_model, user_model, profile_model = _models()
    n, m = len(token_names), len(token_names) + len(user_names)
    token = token_model.from_db(db, token_names, row[:n])
    user = user_model.from_db(db, user_names, row[n:m])
    token.user = user
    if row[m] is None:
        user_model.staff_profile.related.set_cached_value(user, None)
    else:
        user.staff_profile = profile_model.from_db(db, profile_names, row[m:])
    return token
