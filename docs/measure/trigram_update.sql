-- What the case table's trigram indexes cost an update that does not change the text
-- (docs/indexes.md, "Moved to a side table"). Run on a scratch database:
--   psql -d <scratch> -f docs/measure/trigram_update.sql
-- It prints the time of three updates of 10,000 rows with the three GIN trigram indexes,
-- then three without them (each rolled back).
\timing on
CREATE EXTENSION IF NOT EXISTS pg_trgm;
DROP TABLE IF EXISTS measure_trgm;
CREATE TABLE measure_trgm (id bigserial PRIMARY KEY, title varchar(200), requester_name varchar(120),
    requester_email varchar(254), level_id int, team_id int, next_check_at timestamptz, version int, pad text);
INSERT INTO measure_trgm (title, requester_name, requester_email, level_id, team_id, next_check_at, version, pad)
    SELECT 'Printer on floor ' || g || ' jams when printing duplex', 'Customer Name ' || g, 'user' || g || '@example.com',
           g % 5, g % 50, now() + g * interval '1 second', 0, repeat('x', 300)
    FROM generate_series(1, 300000) g;
CREATE INDEX ON measure_trgm (level_id, team_id);
CREATE INDEX ON measure_trgm (next_check_at);
CREATE INDEX ON measure_trgm (team_id, level_id);
CREATE INDEX measure_trgm_t ON measure_trgm USING gin (upper(title) gin_trgm_ops);
CREATE INDEX measure_trgm_n ON measure_trgm USING gin (upper(requester_name) gin_trgm_ops);
CREATE INDEX measure_trgm_e ON measure_trgm USING gin (upper(requester_email) gin_trgm_ops);
VACUUM ANALYZE measure_trgm;
\echo 'with the trigram indexes'
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 1 AND 10000; ROLLBACK;
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 10001 AND 20000; ROLLBACK;
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 20001 AND 30000; ROLLBACK;
DROP INDEX measure_trgm_t, measure_trgm_n, measure_trgm_e;
\echo 'without them'
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 30001 AND 40000; ROLLBACK;
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 40001 AND 50000; ROLLBACK;
BEGIN; UPDATE measure_trgm SET level_id = level_id + 1, next_check_at = next_check_at + interval '1 hour', version = version + 1 WHERE id BETWEEN 50001 AND 60000; ROLLBACK;
DROP TABLE measure_trgm;
