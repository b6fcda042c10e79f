-- What eight deferred foreign keys cost an insert (docs/indexes.md, "Constraints dropped").
-- Run on a scratch database:  psql -d <scratch> -f docs/measure/fk_checks.sql
-- 10,000 rows with eight references to small parent tables, with the constraints (checked
-- at COMMIT) and without, twice each; add each INSERT's time to its COMMIT's.
\timing on
DROP TABLE IF EXISTS measure_fk_with, measure_fk_without, measure_p1, measure_p2, measure_p3;
CREATE TABLE measure_p1 (id int PRIMARY KEY); INSERT INTO measure_p1 SELECT generate_series(1, 10);
CREATE TABLE measure_p2 (id int PRIMARY KEY); INSERT INTO measure_p2 SELECT generate_series(1, 100);
CREATE TABLE measure_p3 (id int PRIMARY KEY); INSERT INTO measure_p3 SELECT generate_series(1, 1000);
CREATE TABLE measure_fk_with (id bigserial PRIMARY KEY,
    a int REFERENCES measure_p1 DEFERRABLE INITIALLY DEFERRED, b int REFERENCES measure_p1 DEFERRABLE INITIALLY DEFERRED,
    c int REFERENCES measure_p2 DEFERRABLE INITIALLY DEFERRED, d int REFERENCES measure_p2 DEFERRABLE INITIALLY DEFERRED,
    e int REFERENCES measure_p3 DEFERRABLE INITIALLY DEFERRED, f int REFERENCES measure_p3 DEFERRABLE INITIALLY DEFERRED,
    g int REFERENCES measure_p3 DEFERRABLE INITIALLY DEFERRED, h int REFERENCES measure_p3 DEFERRABLE INITIALLY DEFERRED);
CREATE TABLE measure_fk_without (id bigserial PRIMARY KEY, a int, b int, c int, d int, e int, f int, g int, h int);
\echo 'with, without, with, without'
BEGIN; INSERT INTO measure_fk_with (a, b, c, d, e, f, g, h) SELECT 1 + g % 10, 1 + (g + 1) % 10, 1 + g % 100, 1 + (g + 3) % 100, 1 + g % 1000, 1 + (g + 1) % 1000, 1 + (g + 2) % 1000, 1 + (g + 3) % 1000 FROM generate_series(1, 10000) g; COMMIT;
BEGIN; INSERT INTO measure_fk_without (a, b, c, d, e, f, g, h) SELECT 1 + g % 10, 1 + (g + 1) % 10, 1 + g % 100, 1 + (g + 3) % 100, 1 + g % 1000, 1 + (g + 1) % 1000, 1 + (g + 2) % 1000, 1 + (g + 3) % 1000 FROM generate_series(1, 10000) g; COMMIT;
BEGIN; INSERT INTO measure_fk_with (a, b, c, d, e, f, g, h) SELECT 1 + g % 10, 1 + (g + 1) % 10, 1 + g % 100, 1 + (g + 3) % 100, 1 + g % 1000, 1 + (g + 1) % 1000, 1 + (g + 2) % 1000, 1 + (g + 3) % 1000 FROM generate_series(1, 10000) g; COMMIT;
BEGIN; INSERT INTO measure_fk_without (a, b, c, d, e, f, g, h) SELECT 1 + g % 10, 1 + (g + 1) % 10, 1 + g % 100, 1 + (g + 3) % 100, 1 + g % 1000, 1 + (g + 1) % 1000, 1 + (g + 2) % 1000, 1 + (g + 3) % 1000 FROM generate_series(1, 10000) g; COMMIT;
DROP TABLE measure_fk_with, measure_fk_without, measure_p1, measure_p2, measure_p3;
