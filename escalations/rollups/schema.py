"""The rollups' SQL: what one fact row adds to its rollup rows, written once and used three
ways: by the statement triggers (the rows a statement inserted count +1, the rows it
deleted -1, an update both), by the rebuild (every row +1) and by the invariant check
(a recount compared with the tables).

Statement-level triggers with transition tables (PostgreSQL 10+) see every row a
statement changed at once, so a set-based write of ten thousand cases (the sweep, an
import, ``seed_scale``) costs one grouped upsert per rollup table, and a workflow action's
single-row ``save()`` one small one; nothing in Python has to remember to call anything,
and the rollups commit or roll back with the facts. Upserts run in key order, so two
transactions touching the same rollup rows wait for each other instead of deadlocking.
An update that moves no figure (most of them: notes, next_check_at, OLA clocks) nets to
zero per key and writes nothing.
"""

from __future__ import annotations

from escalations.models.choices import OPEN_STATUSES
from escalations.models.sources import IMPORTED_REASON


def bucket_sql(seconds: str, vendor: str) -> str:
    """The reports' histogram bucket of ``seconds`` (``reports.sql.bucket_sql``)."""
    # Imported when used: the reports package reads the rollups, so importing it at the top
    # (first, as a migration does) would import this module again half-built.
    from escalations.reports.sql import bucket_sql as reports_bucket

    return reports_bucket(seconds, vendor)


# The case-keyed rollups and the handoff rollup count each fact once for all cases (key and
# value "") and again under each imported attribute of its case (``CaseAttribute``), so an
# attribute filter reads the rows of its key and value instead of every case of the range
# (so does a breakdown by an attribute with a team, category, priority or source filter;
# without, it reads the slimmer attribute rollup below). They lead every key, so a report
# without an attribute reads the rows for all cases through the same index as before.
ATTR = ("attr_key", "attr_value")
# Every rollup row has a grain: "d" a local day, "w" a week, "m" a month (``day`` its
# first day). A report over a range reads the month rows of the whole months in it, then
# week and day rows for its edges: a two-year range reads 24 months and a few weeks and
# days, not 730 days; a weekly series reads weeks (weeks do not nest in months).
CASE_KEYS = (*ATTR, "grain", "day", "level_id", "highest_level_id", "team_id", "category_id", "priority", "source")
# Where cases enter the ladder, how many handoffs they have had (the flow report) and
# whether they were ever moved down (returned or de-escalated: the volume report).
ENTRY_KEYS = (*ATTR, "grain", "day", "entry_level_id", "level_id", "team_id", "category_id", "priority", "source")
ENTRY_FIGURES = {
    "h1": "handoff_count = 1",
    "h2": "handoff_count = 2",
    "h3": "handoff_count = 3",
    "h4": "handoff_count >= 4",
    "down": "moved_down_count > 0",
}
# The cases open now (no day: what the live desk reads), by where they are: how many,
# nobody on them, a clock already breached, the resolution clock already breached.
OPEN_KEYS = (*ATTR, "level_id", "team_id", "category_id", "priority", "source")
OPEN_CASE = f"status IN ({', '.join(repr(str(s)) for s in OPEN_STATUSES)})"
OPEN_FIGURES = {
    "unassigned": ("assignee_id IS NULL", "1"),
    "breached": ("resolution_breached_at IS NOT NULL OR response_breached_at IS NOT NULL", "1"),
    "s_breached": ("resolution_breached_at IS NOT NULL", "1"),
}
# Resolutions by the day they happened (the backlog: opened minus resolved).
RESOLVED_KEYS = (*ATTR, "grain", "day", "level_id", "team_id", "category_id", "priority", "source")
# Durations keep one filter dimension at a time ("slice": "" none, or team, category,
# priority, source, or "attr:<key>" for an imported attribute, with its value): a few
# thousand rows per month and level each. Two or more filters at once read the rows crossed
# with every case filter (slice "*", with the team, category, priority and source columns
# set; 0 and "" in the other rows): about a row per case and week, read only for such a
# combination (migration 0061); an attribute with another filter reads the cases.
DURATION_KEYS = (
    "grain",
    "day",
    "level_id",
    "slice",
    "value",
    "team_id",
    "category_id",
    "priority",
    "source",
    "measure",
    "bucket",
)
# A handoff counts twice: for all cases of its case's source ("whole", which a source filter
# alone also reads) and under its case's category, priority and source (the copies it
# carries), so a report reads handoffs under any of those filters, alone or together, from
# rollup rows; the team and level filters match a handoff's own ends.
CASE_FILTERS = ("whole", "category_id", "priority", "source")
# Handoffs by the day they were raised (basis "r") and by the day their case was opened
# (basis "o"), each with the wait to the decision as histogram buckets (-1 not decided).
HANDOFF_KEYS = (
    *ATTR,
    "basis",
    "grain",
    "day",
    *CASE_FILTERS,
    "kind",
    "status",
    "from_level_id",
    "to_level_id",
    "from_team_id",
    "to_team_id",
    "bucket",
)
# Cases per value of an imported attribute (a case with three attributes counts under each):
# the figures a breakdown by an attribute compares, by the day opened, the level the case is
# at now and the highest it reached (``models.rollups.AttributeRollup``).
ATTRIBUTE_KEYS = ("key", "grain", "day", "value", "level_id", "highest_level_id")
ATTRIBUTE_FIGURES = (
    "escalated",
    "resolved",
    "reopened",
    "handoffs",
    "moves",
    "r_met",
    "r_late",
    "s_met",
    "s_late",
    "fr_n",
    "fr_s",
    "resolve_s",
    "made",
    "verdicts",
    "open_now",
)
# Handoffs by the day raised and who raised them (the quality report's over-escalation).
RAISER_KEYS = (
    *ATTR,
    "grain",
    "day",
    *CASE_FILTERS,
    "kind",
    "from_level_id",
    "to_level_id",
    "from_team_id",
    "to_team_id",
    "raised_by_id",
)
RAISER_FIGURES = {
    "returned": "status = 'returned'",
    "live": "here",  # raised in this desk: by a person or a rule, not imported
    "thin": "here AND thin",  # ... and missing information
}
# Each case figure: (condition, value added); ``n`` counts every case. The SLA clocks count
# what a case's columns alone decide (met, or breached / stopped late); a clock still running
# past its due time depends on the moment of the report and is read from the open cases.
SECONDS = "date_part('epoch', {} - opened_at)"
CASE_FIGURES = {
    "escalated": ("escalation_count > 0", "1"),
    "resolved": ("resolved_at IS NOT NULL", "1"),
    "resolved_direct": ("resolved_at IS NOT NULL AND escalation_count = 0", "1"),
    "open_n": ("resolved_at IS NULL", "1"),
    "open_opened_s": ("resolved_at IS NULL", "date_part('epoch', opened_at)::numeric"),
    # sla: per clock (stop, due, breached) met and breached-or-late; time to breach.
    **{
        f"{k}_{verdict}": (cond.format(stop=stop, due=due, br=br), "1")
        for k, stop, due, br in (
            ("r", "first_response_at", "response_due_at", "response_breached_at"),
            ("s", "resolved_at", "resolution_due_at", "resolution_breached_at"),
            ("o", "responded_at", "ola_response_due_at", "ola_response_breached_at"),
            ("w", "resolved_at", "ola_work_due_at", "ola_work_breached_at"),
        )
        for verdict, cond in (
            ("met", "{stop} IS NOT NULL AND {br} IS NULL AND {stop} <= {due}"),
            ("late", "{br} IS NOT NULL OR {stop} > {due}"),
        )
    },
    "fr_n": ("first_response_at IS NOT NULL", "1"),
    "fr_s": ("first_response_at IS NOT NULL", SECONDS.format("first_response_at")),
    "r_n": ("response_breached_at IS NOT NULL", "1"),
    "r_s": ("response_breached_at IS NOT NULL", SECONDS.format("response_breached_at")),
    "s_n": ("resolution_breached_at IS NOT NULL", "1"),
    "s_s": ("resolution_breached_at IS NOT NULL", SECONDS.format("resolution_breached_at")),
    "resolve_s": ("resolved_at IS NOT NULL", SECONDS.format("resolved_at")),  # a breakdown's mean
    "open_now": (OPEN_CASE, "1"),  # a breakdown's "Open" (status, not resolved_at)
    "made": ("source_made_sla", "1"),
    "verdicts": ("source_made_sla IS NOT NULL", "1"),
    # quality: breached at the level holding the case, and not moved up after (the reader
    # leaves out the top level); resolved at least once; reopened.
    "breached": ("ola_response_breached_at IS NOT NULL OR resolution_breached_at IS NOT NULL", "1"),
    "under": (
        "ola_response_breached_at IS NOT NULL OR "
        "(resolution_breached_at IS NOT NULL AND level_entered_at <= resolution_breached_at)",
        "1",
    ),
    "resolved_once": ("resolved_at IS NOT NULL OR reopen_count > 0", "1"),
    "reopened": ("reopen_count > 0", "1"),
    # flow: reassignments, cases reassigned twice or more, handoffs counted on the case.
    "moves": ("TRUE", "reassignment_count"),
    "bounced": ("reassignment_count > 1", "1"),
    "handoffs": ("TRUE", "escalation_count"),
}
CASE_SUMS = ("n", *CASE_FIGURES)
CASE_FLOATS = ("fr_s", "r_s", "s_s", "resolve_s")
DURATION_SUMS = ("n", "s")
HANDOFF_SUMS = ("n", "raised_s", "decided_s", "wait_s", "response_breached", "work_breached")
# An attribute's slice: this prefix and its key (the value in ``value``).
ATTR_SLICE = "attr:"
SLICES = {
    "": "''",
    "team": "COALESCE(team_id, 0)::text",
    "category": "category_id::text",
    "priority": "priority::text",
    "source": "source",
}
# Whole (by source), then the case's own: columns ``w.whole, w.category_id, w.priority, w.source``.
TWICE = (
    "CROSS JOIN LATERAL (VALUES (true, 0, 0, case_source), (false, case_category_id, case_priority, case_source)) "
    "AS w(whole, category_id, priority, source)"
)
WHO = "w.whole, w.category_id, w.priority, w.source"


# table -> (keys, sums, float sums compared with a tolerance)
TABLES = {
    "escalations_caserollup": (CASE_KEYS, CASE_SUMS, CASE_FLOATS),
    "escalations_entryrollup": (ENTRY_KEYS, ("n", *ENTRY_FIGURES), ()),
    "escalations_openrollup": (OPEN_KEYS, ("n", *OPEN_FIGURES), ()),
    "escalations_resolvedrollup": (RESOLVED_KEYS, ("n",), ()),
    "escalations_casedurationrollup": (DURATION_KEYS, DURATION_SUMS, ("s",)),
    "escalations_handoffrollup": (HANDOFF_KEYS, HANDOFF_SUMS, ("raised_s", "decided_s", "wait_s")),
    "escalations_raiserrollup": (RAISER_KEYS, ("n", *RAISER_FIGURES), ()),
    "escalations_attributerollup": (ATTRIBUTE_KEYS, ("n", *ATTRIBUTE_FIGURES), ("fr_s", "resolve_s")),
}
GRAINS = ("d", "w", "m")
GRAIN_UNITS = {"w": "week", "m": "month"}
# Histograms have no day rows (a day row per bucket would be about a row per case): the
# days at a range's edges are read from the cases themselves.
DURATION_GRAINS = ("w", "m")


def _day(col: str, tz: str, grain: str) -> str:
    local = f"({col} AT TIME ZONE {tz})"
    return f"{local}::date" if grain == "d" else f"date_trunc('{GRAIN_UNITS[grain]}', {local})::date"


def _signed(cond: str, value: str = "1") -> str:
    return f"SUM(CASE WHEN {cond} THEN sg * {value} ELSE 0 END)"


def case_select(rows: str, tz: str) -> str:
    """Grouped contributions of ``rows`` (a relation of case columns plus ``sg``, +1/-1)."""
    figures = ", ".join(_signed(f"({cond})", value) for cond, value in CASE_FIGURES.values())
    return " UNION ALL ".join(
        f"""
SELECT attr_key, attr_value, '{g}', {_day("opened_at", tz, g)}, level_id, highest_level_id, COALESCE(team_id, 0),
       category_id, priority, source, SUM(sg), {figures}
FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"""
        for g in GRAINS
    )


def entry_select(rows: str, tz: str) -> str:
    figures = ", ".join(_signed(f"({cond})") for cond in ENTRY_FIGURES.values())
    return " UNION ALL ".join(
        f"""
SELECT attr_key, attr_value, '{g}', {_day("opened_at", tz, g)}, entry_level_id, level_id, COALESCE(team_id, 0),
       category_id, priority, source, SUM(sg), {figures}
FROM d GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10"""
        for g in GRAINS
    )


def open_select(rows: str, tz: str) -> str:
    figures = ", ".join(_signed(f"({cond})", value) for cond, value in OPEN_FIGURES.values())
    return f"""
SELECT attr_key, attr_value, level_id, COALESCE(team_id, 0), category_id, priority, source, SUM(sg), {figures}
FROM d WHERE {OPEN_CASE} GROUP BY 1, 2, 3, 4, 5, 6, 7"""


def resolved_select(rows: str, tz: str) -> str:
    return " UNION ALL ".join(
        f"""
SELECT attr_key, attr_value, '{g}', {_day("resolved_at", tz, g)}, level_id, COALESCE(team_id, 0), category_id,
       priority, source, SUM(sg)
FROM d WHERE resolved_at IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9"""
        for g in GRAINS
    )


def duration_select(rows: str, tz: str) -> str:
    """A case's row for all cases (``attr_key`` "") counts in every slice and the crossed
    one; its row under an attribute only in that attribute's slice ("attr:<key>")."""
    slices = ", ".join(f"('{k}', {v}, 0, 0, 0, '')" for k, v in SLICES.items())
    crossed = "('*', '', COALESCE(d.team_id, 0), d.category_id, d.priority, d.source)"
    # A case with neither moment counts nothing: left out before the slices multiply it by
    # seven (the sweep's cases are open and unanswered: without this its every batch spent
    # more time here than in all the other rollups together).
    timed = "(SELECT * FROM d WHERE first_response_at IS NOT NULL OR resolved_at IS NOT NULL)"
    return " UNION ALL ".join(
        f"""
SELECT '{g}', {_day("d.opened_at", tz, g)}, d.level_id, sl.slice, sl.value, sl.team_id, sl.category_id,
       sl.priority, sl.source, m.measure, ({bucket_sql("m.sec", "postgresql")})::int, SUM(sg), SUM(sg * m.sec)
FROM {timed} AS d CROSS JOIN LATERAL (VALUES
    (1, date_part('epoch', d.first_response_at - d.opened_at)),
    (2, date_part('epoch', d.resolved_at - d.opened_at))) AS m(measure, sec)
CROSS JOIN LATERAL (
    SELECT * FROM (VALUES {slices}, {crossed}) AS x WHERE d.attr_key = ''
    UNION ALL SELECT '{ATTR_SLICE}' || d.attr_key, d.attr_value, 0, 0, 0, '' WHERE d.attr_key <> ''
) AS sl(slice, value, team_id, category_id, priority, source)
WHERE m.sec IS NOT NULL GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11"""
        for g in DURATION_GRAINS
    )


def handoff_select(rows: str, tz: str) -> str:
    wait = "date_part('epoch', decided_at - created_at)"
    sums = (
        f"SUM(sg), SUM(sg * date_part('epoch', created_at - case_opened_at)), "
        f"SUM(sg * COALESCE(date_part('epoch', decided_at - case_opened_at), 0)), SUM(sg * COALESCE({wait}, 0)), "
        f"{_signed('response_breached')}, {_signed('work_breached')}"
    )
    ends = "kind, status, from_level_id, to_level_id, COALESCE(from_team_id, 0), COALESCE(to_team_id, 0)"
    bucket = f"COALESCE(({bucket_sql(wait, 'postgresql')})::int, -1)"
    parts = []
    for g in GRAINS:
        for basis, moment in (("r", "created_at"), ("o", "case_opened_at")):
            parts.append(
                f"SELECT attr_key, attr_value, '{basis}', '{g}', {_day(moment, tz, g)}, {WHO}, {ends}, {bucket}, "
                f"{sums} FROM d {TWICE} WHERE NOT (w.whole AND attr_key <> '') "  # an attribute's: the case's own
                f"GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16"
            )
    return " UNION ALL ".join(parts)


def raiser_select(rows: str, tz: str) -> str:
    figures = ", ".join(_signed(f"({cond})") for cond in RAISER_FIGURES.values())
    ends = "kind, from_level_id, to_level_id, COALESCE(from_team_id, 0), COALESCE(to_team_id, 0)"
    return " UNION ALL ".join(
        f"""
SELECT attr_key, attr_value, '{g}', {_day("created_at", tz, g)}, {WHO}, {ends}, COALESCE(raised_by_id, 0), SUM(sg),
       {figures}
FROM d {TWICE} WHERE NOT (w.whole AND attr_key <> '')
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14"""
        for g in GRAINS
    )


def attribute_select(rows: str, tz: str) -> str:
    """``d`` has the attribute's key and value beside the case columns (``fact_rows``)."""
    figures = ", ".join(_signed(f"({CASE_FIGURES[f][0]})", CASE_FIGURES[f][1]) for f in ATTRIBUTE_FIGURES)
    return " UNION ALL ".join(
        f"""
SELECT attr_key, '{g}', {_day("opened_at", tz, g)}, attr_value, level_id, highest_level_id, SUM(sg), {figures}
FROM d GROUP BY 1, 2, 3, 4, 5, 6"""
        for g in GRAINS
    )


SELECTS = {
    "escalations_caserollup": case_select,
    "escalations_entryrollup": entry_select,
    "escalations_openrollup": open_select,
    "escalations_resolvedrollup": resolved_select,
    "escalations_casedurationrollup": duration_select,
    "escalations_handoffrollup": handoff_select,
    "escalations_raiserrollup": raiser_select,
    "escalations_attributerollup": attribute_select,
}
# The columns of each fact the rollups read (a case row is ~1.8 kB, these ~80 bytes).
COLUMNS = {
    "escalations_case": "opened_at, level_id, highest_level_id, team_id, category_id, priority, source, "
    "escalation_count, resolved_at, first_response_at, responded_at, response_due_at, response_breached_at, "
    "resolution_due_at, resolution_breached_at, ola_response_due_at, ola_response_breached_at, ola_work_due_at, "
    "ola_work_breached_at, source_made_sla, level_entered_at, reopen_count, reassignment_count, entry_level_id, "
    "handoff_count, moved_down_count, status, assignee_id",
    "escalations_escalation": "created_at, case_opened_at, decided_at, kind, status, from_level_id, to_level_id, "
    "from_team_id, to_team_id, response_breached, work_breached, raised_by_id, case_category_id, case_priority, "
    "case_source, "
    f"((raised_by_id IS NOT NULL OR rule_id IS NOT NULL) AND left(reason, {len(IMPORTED_REASON)}) <> "
    f"'{IMPORTED_REASON}') AS here, "
    "(summary = '' OR steps_tried = '' OR customer_impact = '' OR knowledge_consulted = '') AS thin",
}
ATTRIBUTES = "escalations_attributerollup"
# The rebuild and the recount read each rollup from one fact table ...
FACTS = {
    "escalations_case": (
        "escalations_caserollup",
        "escalations_entryrollup",
        "escalations_openrollup",
        "escalations_resolvedrollup",
        "escalations_casedurationrollup",
        ATTRIBUTES,  # the cases under each attribute only (``fact_rows``)
    ),
    "escalations_escalation": ("escalations_handoffrollup", "escalations_raiserrollup"),
}
# ... each of these once more per attribute of the case (``fact_rows``) ...
ATTRIBUTED = {
    "escalations_caserollup": "escalations_case",
    "escalations_entryrollup": "escalations_case",
    "escalations_openrollup": "escalations_case",
    "escalations_resolvedrollup": "escalations_case",
    "escalations_casedurationrollup": "escalations_case",  # (in a slice of its own)
    "escalations_handoffrollup": "escalations_escalation",
    "escalations_raiserrollup": "escalations_escalation",
    ATTRIBUTES: "escalations_case",  # (and not for all cases)
}
# ... and the triggers keep them from every table whose writes move a figure: an attribute
# added to, changed on or taken from a case moves that case (and its handoffs) between the
# attribute's rows.
TRIGGERS = {**FACTS, "escalations_caseattribute": tuple(ATTRIBUTED)}
# A fact's rows by case: the case's id, or the handoff's case.
CASE_ID = {"escalations_case": "id", "escalations_escalation": "case_id"}


def fact_rows(fact: str, table: str, sources: tuple[tuple[int, str], ...] = ((1, ""),)) -> str:
    """The columns ``table`` reads from ``fact``'s rows in each ``(sign, relation)`` (the
    table itself, or a trigger's transition table), with ``sg`` the sign. An attributed
    table reads each row once for all cases (``attr_key`` "") and once per attribute of its
    case; a change to the attributes reads their rows joined to the case or its handoffs."""
    if fact == "escalations_caseattribute":
        base = ATTRIBUTED[table]
        facts = f"(SELECT {CASE_ID[base]} AS case_key, {COLUMNS[base]} FROM {base})"
        return " UNION ALL ".join(
            f"SELECT {sg} AS sg, f.*, x.key AS attr_key, x.value AS attr_value "
            f"FROM {relation} AS x JOIN {facts} AS f ON f.case_key = x.case_id"
            for sg, relation in sources
        )
    rows = " UNION ALL ".join(
        f"SELECT {sg} AS sg, {CASE_ID[fact]} AS case_key, {COLUMNS[fact]} FROM {relation or fact}"
        for sg, relation in sources
    )
    if table not in ATTRIBUTED:
        return rows
    attributed = "SELECT f.*, a.key AS attr_key, a.value AS attr_value FROM f JOIN escalations_caseattribute a ON a.case_id = f.case_key"
    if table == ATTRIBUTES:
        return f"WITH f AS ({rows}) {attributed}"
    return f"WITH f AS MATERIALIZED ({rows}) SELECT f.*, '' AS attr_key, '' AS attr_value FROM f UNION ALL {attributed}"


def upsert(table: str, rows: str, tz: str) -> str:
    """Add the contributions of ``rows`` to ``table``; keys whose figures net to zero are
    skipped, the rest are written in key order."""
    keys, sums, _floats = TABLES[table]
    order = ", ".join(f"v.{k}" for k in keys)
    sets = ", ".join(f"{s} = r.{s} + excluded.{s}" for s in sums)
    return (
        f"INSERT INTO {table} AS r ({', '.join(keys + sums)}) {contributions(table, rows, tz)} "
        f"ORDER BY {order} ON CONFLICT ({', '.join(keys)}) DO UPDATE SET {sets}"
    )


def contributions(table: str, rows: str, tz: str) -> str:
    """The rollup rows of ``table`` that ``rows`` add up to, less the ones that are all zero."""
    keys, sums, _floats = TABLES[table]
    nonzero = " OR ".join(f"v.{s} <> 0" for s in sums)
    return (
        f"WITH d AS MATERIALIZED ({rows}) "
        f"SELECT * FROM ({SELECTS[table](rows, tz)}) AS v ({', '.join(keys + sums)}) WHERE {nonzero}"
    )


# Per statement kind: the transition tables a trigger names, and their rows' signs.
OPS = {
    "insert": ("REFERENCING NEW TABLE AS new_rows", ((1, "new_rows"),)),
    "update": ("REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows", ((1, "new_rows"), (-1, "old_rows"))),
    "delete": ("REFERENCING OLD TABLE AS old_rows", ((-1, "old_rows"),)),
}


def install_sql() -> list[str]:
    """Functions and triggers: one per fact table and statement kind (PostgreSQL allows
    transition tables only on single-event triggers). With no ``RollupState`` row the
    functions return at once (rollups off). JIT is off in them: the planner takes a
    transition table for 10,000 rows whatever it holds, so a statement of a few thousand
    rows crossed the JIT threshold and spent 60 to 100 ms compiling (the sweep paid it on
    every batch, for a histogram statement that wrote nothing)."""
    out = []
    for fact, tables in TRIGGERS.items():
        for op, (referencing, sources) in OPS.items():
            fn = f"{fact}_rollup_{op}"
            body = ";\n  ".join(upsert(t, fact_rows(fact, t, sources), "tz") for t in tables)
            out.append(
                f"""CREATE OR REPLACE FUNCTION {fn}() RETURNS trigger LANGUAGE plpgsql SET jit = off AS $fn$
DECLARE tz text;
BEGIN
  SELECT time_zone INTO tz FROM escalations_rollupstate LIMIT 1;
  IF tz IS NULL THEN RETURN NULL; END IF;
  {body};
  RETURN NULL;
END $fn$"""
            )
            out.append(f"DROP TRIGGER IF EXISTS {fn} ON {fact}")
            out.append(
                f"CREATE TRIGGER {fn} AFTER {op.upper()} ON {fact} {referencing} "
                f"FOR EACH STATEMENT EXECUTE FUNCTION {fn}()"
            )
    return out


def uninstall_sql() -> list[str]:
    out = []
    for fact in TRIGGERS:
        for op in OPS:
            fn = f"{fact}_rollup_{op}"
            out += [f"DROP TRIGGER IF EXISTS {fn} ON {fact}", f"DROP FUNCTION IF EXISTS {fn}()"]
    return out
