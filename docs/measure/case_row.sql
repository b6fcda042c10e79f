-- What the case row's width costs the sweep's update (migration 0072: the frozen SLA terms
-- moved to their own table; README "Sweep"). Run on a database that holds bench_sweep's
-- cases (`bench_sweep --open N --due M --keep`), before and after migrating to 0072:
--   psql -d <database> -f docs/measure/case_row.sql
-- It prints the case rows' average stored width and the table's size, then three times
-- (each rolled back) the WAL, buffers and time of one UPDATE of 10,000 open benchmark cases
-- setting what a sweep escalation sets (status, level, team, clocks, next check, version;
-- no searched text, so no trigger writes), then the sweep's claim statement's read of
-- 10,000 cases with every column (what the fast path loads per batch).
\timing on
SELECT count(*) AS cases, round(avg(pg_column_size(c.*))) AS avg_row_bytes,
       pg_size_pretty(pg_table_size('escalations_case')) AS table_size
FROM escalations_case c;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF, SUMMARY ON)
UPDATE escalations_case SET status = 'escalated', level_id = highest_level_id, team_id = team_id,
    level_entered_at = now(), responded_at = NULL, reassignment_count = 0, escalation_count = escalation_count + 1,
    handoff_count = handoff_count + 1, response_due_at = response_due_at, ola_response_due_at = now() + interval '1 hour',
    ola_work_due_at = now() + interval '4 hours', routing_note = 'measured', next_check_at = now() + interval '1 hour',
    version = version + 1
WHERE id IN (SELECT id FROM escalations_case WHERE source = 'bench' ORDER BY id LIMIT 10000);
ROLLBACK;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF, SUMMARY ON)
UPDATE escalations_case SET status = 'escalated', level_id = highest_level_id, team_id = team_id,
    level_entered_at = now(), responded_at = NULL, reassignment_count = 0, escalation_count = escalation_count + 1,
    handoff_count = handoff_count + 1, response_due_at = response_due_at, ola_response_due_at = now() + interval '1 hour',
    ola_work_due_at = now() + interval '4 hours', routing_note = 'measured', next_check_at = now() + interval '1 hour',
    version = version + 1
WHERE id IN (SELECT id FROM escalations_case WHERE source = 'bench' ORDER BY id LIMIT 10000 OFFSET 10000);
ROLLBACK;
BEGIN;
EXPLAIN (ANALYZE, BUFFERS, WAL, COSTS OFF, SUMMARY ON)
UPDATE escalations_case SET status = 'escalated', level_id = highest_level_id, team_id = team_id,
    level_entered_at = now(), responded_at = NULL, reassignment_count = 0, escalation_count = escalation_count + 1,
    handoff_count = handoff_count + 1, response_due_at = response_due_at, ola_response_due_at = now() + interval '1 hour',
    ola_work_due_at = now() + interval '4 hours', routing_note = 'measured', next_check_at = now() + interval '1 hour',
    version = version + 1
WHERE id IN (SELECT id FROM escalations_case WHERE source = 'bench' ORDER BY id LIMIT 10000 OFFSET 20000);
ROLLBACK;
EXPLAIN (ANALYZE, BUFFERS, COSTS OFF, SUMMARY ON)
SELECT c.* FROM escalations_case c WHERE c.id IN (SELECT id FROM escalations_case WHERE source = 'bench' ORDER BY id LIMIT 10000 OFFSET 30000);
