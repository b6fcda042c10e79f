"""Build, rebuild and check the rollups (PostgreSQL; on other databases they stay off)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

from escalations.rollups.schema import (
    FACTS,
    TABLES,
    TRIGGERS,
    contributions,
    fact_rows,
    install_sql,
    uninstall_sql,
    upsert,
)

STATE_TZ = "(SELECT time_zone FROM escalations_rollupstate LIMIT 1)"


def supported() -> bool:
    return connection.vendor == "postgresql"


def install() -> None:
    """Create (or replace) the trigger functions and triggers."""
    with connection.cursor() as cur:
        for stmt in install_sql():
            cur.execute(stmt)


def rebuild() -> None:
    """Recount every rollup from the facts, in one transaction that blocks writers of the
    facts meanwhile (readers go on); the days are in ``settings.TIME_ZONE``."""
    if not supported():
        return
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"LOCK TABLE {', '.join(TRIGGERS)} IN SHARE MODE")
        cur.execute(f"TRUNCATE {', '.join(TABLES)}, escalations_rollupstate")
        cur.execute(
            "INSERT INTO escalations_rollupstate (time_zone, built_at) VALUES (%s, %s)",
            [settings.TIME_ZONE, timezone.now()],
        )
        for fact, tables in FACTS.items():
            for table in tables:
                cur.execute(upsert(table, fact_rows(fact, table), STATE_TZ))


def uninstall_and_empty(*tables: str) -> None:
    """What a migration that changes some rollups runs first: drop the triggers (so its own
    writes count nothing) and empty ``tables``; ``install_and_fill`` counts them again."""
    if not supported():
        return
    with connection.cursor() as cur:
        for stmt in uninstall_sql():
            cur.execute(stmt)
        cur.execute(f"TRUNCATE {', '.join(tables)}")


def install_and_fill(attributes_added: tuple[str, ...] = ()) -> None:
    """What the last migration that changes the rollups runs: install the triggers, then
    count every rollup on a database that never had them (no ``RollupState`` row), else
    only the tables left empty (the ones that migration emptied), and in the kept tables of
    ``attributes_added`` (which now count cases under their attributes too) only the rows
    under each attribute: the rows for all cases are already there."""
    if not supported():
        return
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM escalations_rollupstate")
        if cur.fetchone()[0] == 0:
            install()
            rebuild()
            return
        cur.execute(f"LOCK TABLE {', '.join(TRIGGERS)} IN SHARE MODE")
        install()
        for fact, tables in FACTS.items():
            for table in tables:
                cur.execute(f"SELECT EXISTS (SELECT 1 FROM {table})")
                if not cur.fetchone()[0]:
                    cur.execute(upsert(table, fact_rows(fact, table), STATE_TZ))
                elif table in attributes_added:
                    attributes = ((1, "escalations_caseattribute"),)
                    cur.execute(upsert(table, fact_rows("escalations_caseattribute", table, attributes), STATE_TZ))


def active() -> bool:
    """Whether the reports may read the rollups: PostgreSQL, built, and in the current
    time zone (a changed ``TIME_ZONE`` needs ``rebuild_rollups``)."""
    if not supported():
        return False
    with connection.cursor() as cur:
        cur.execute("SELECT time_zone FROM escalations_rollupstate LIMIT 1")
        row = cur.fetchone()
    return row is not None and row[0] == settings.TIME_ZONE


@dataclass
class Mismatch:
    table: str
    key: tuple
    stored: tuple
    recount: tuple


def check(limit: int = 20) -> list[Mismatch]:
    """The rollups against a recount of the facts (zero rows ignored; float sums within a
    millionth): the mismatches, at most ``limit``."""
    if not active():
        return []
    out: list[Mismatch] = []
    outermost = not connection.in_atomic_block
    with transaction.atomic(), connection.cursor() as cur:
        if outermost:  # one snapshot for the rollups and the recount
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        for fact, tables in FACTS.items():
            for table in tables:
                keys, sums, floats = TABLES[table]
                recount = contributions(table, fact_rows(fact, table), STATE_TZ)
                stored = f"SELECT * FROM {table} WHERE {' OR '.join(f'{s} <> 0' for s in sums)}"
                same_key = " AND ".join(f"a.{k} = b.{k}" for k in keys)
                differ = " OR ".join(
                    f"abs(COALESCE(a.{s}, 0) - COALESCE(b.{s}, 0)) > 1e-6 * abs(COALESCE(b.{s}, 0)) + 1e-3"
                    if s in floats
                    else f"COALESCE(a.{s}, 0) <> COALESCE(b.{s}, 0)"
                    for s in sums
                )
                cur.execute(
                    f"SELECT {', '.join(f'COALESCE(a.{k}, b.{k})' for k in keys)}, "
                    f"{', '.join(f'a.{s}' for s in sums)}, {', '.join(f'b.{s}' for s in sums)} "
                    f"FROM ({stored}) AS a FULL JOIN ({recount}) AS b ON {same_key} WHERE {differ} LIMIT %s",
                    [limit - len(out)],
                )
                nk, ns = len(keys), len(sums)
                for row in cur.fetchall():
                    out.append(Mismatch(table, row[:nk], row[nk : nk + ns], row[nk + ns :]))
                if len(out) >= limit:
                    return out
    return out
