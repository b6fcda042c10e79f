-- What the case rollup trigger costs the sweep's case update (migration 0074: the trigger
-- functions without JIT, the histogram statement skipping cases with neither a first
-- response nor a resolution; README "Sweep"). Run on a database that holds bench_sweep's
-- cases (`bench_sweep --open N --due M --keep`), before and after migrating to 0074:
--   psql -d <database> -f docs/measure/rollup_trigger.sql
-- Five times (each rolled back, one session, the server's own JIT setting) it updates 2,000
-- open benchmark cases (the sweep's batch) as a sweep escalation does and prints the
-- statement's time and, on the line "Trigger escalations_case_rollup_update", the trigger's.
\timing on
\set batch 'EXPLAIN (ANALYZE, COSTS OFF, SUMMARY ON) UPDATE escalations_case SET status = \'escalated\', level_id = highest_level_id + 1, level_entered_at = now(), escalation_count = escalation_count + 1, handoff_count = handoff_count + 1, ola_response_due_at = now() + interval \'1 hour\', next_check_at = now() + interval \'1 hour\', version = version + 1 WHERE id IN (SELECT id FROM escalations_case WHERE source = \'bench\' ORDER BY id LIMIT 2000 OFFSET '
BEGIN;
:batch 20000);
ROLLBACK;
BEGIN;
:batch 40000);
ROLLBACK;
BEGIN;
:batch 60000);
ROLLBACK;
BEGIN;
:batch 80000);
ROLLBACK;
BEGIN;
:batch 100000);
ROLLBACK;
