"""The knowledge articles' search vector, stored and indexed (issue 14, finding 1).

A trigger fills ``search_vector`` on every insert and update from the first
``SEARCH_PREFIX`` characters of title and body, so a row written by any path (the admin,
an import, SQL) gets one, no vector ever exceeds PostgreSQL's 1 MB tsvector limit, and a
search reads the GIN index instead of parsing every body per request. Existing rows are
filled here. PostgreSQL only: elsewhere the search falls back to ``icontains``.
"""

from django.db import migrations

SEARCH_PREFIX = 100_000  # escalations.models.limits.SEARCH_PREFIX, frozen here as migrations must be

FORWARD = f"""
CREATE OR REPLACE FUNCTION escalations_article_search_vector() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english'::regconfig, left(coalesce(NEW.title, ''), 200)), 'A') ||
        setweight(to_tsvector('english'::regconfig, left(coalesce(NEW.body, ''), {SEARCH_PREFIX})), 'B');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER escalations_article_search_vector
    BEFORE INSERT OR UPDATE ON escalations_knowledgearticle
    FOR EACH ROW EXECUTE FUNCTION escalations_article_search_vector();

UPDATE escalations_knowledgearticle SET title = title;

CREATE INDEX IF NOT EXISTS escalations_article_search_gin
    ON escalations_knowledgearticle USING gin (search_vector);
"""

BACKWARD = """
DROP INDEX IF EXISTS escalations_article_search_gin;
DROP TRIGGER IF EXISTS escalations_article_search_vector ON escalations_knowledgearticle;
DROP FUNCTION IF EXISTS escalations_article_search_vector();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("escalations", "0027_text_limits")]

    operations = [migrations.RunPython(forward, backward)]
