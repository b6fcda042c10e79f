"""The attributes an imported log keeps on each incident (BPIC 2013: product, country,
organisation line, ...; UCI: category, location, caller, ...), as facts the reports filter
and break down by (``attr=product:PROD424``, ``by=attr:country``).

A small key-value table rather than a JSON column on the case: the case row is audited
(every tracked column is in its history and hash chain) and wide, while these rows are
narrow. Filtering is an index-only lookup on (key, value, case), handed to the case query
as ``id IN (...)``; a breakdown joins one key's rows to the cases on (case, key)."""

from __future__ import annotations

from django.db import connections, models

KEY_MAX = 40
VALUE_MAX = 200


class CaseAttributeQuerySet(models.QuerySet):
    def known_keys(self) -> list[str]:
        """The distinct keys, sorted: a skip scan over the (key, value, case) index (one
        probe per key), not a pass over every row."""
        table = self.model._meta.db_table
        sql = (
            f"WITH RECURSIVE k(key) AS (SELECT MIN(key) FROM {table} UNION ALL "
            f"SELECT (SELECT MIN(a.key) FROM {table} a WHERE a.key > k.key) FROM k WHERE k.key IS NOT NULL) "
            "SELECT key FROM k WHERE key IS NOT NULL"
        )
        with connections[self.db].cursor() as cur:
            cur.execute(sql)
            return [row[0] for row in cur.fetchall()]


class CaseAttribute(models.Model):
    # The unique (case, key) index serves lookups by case: no index of its own.
    case = models.ForeignKey("escalations.Case", on_delete=models.CASCADE, related_name="attributes", db_index=False)
    key = models.CharField(max_length=KEY_MAX)
    value = models.CharField(max_length=VALUE_MAX)

    objects = CaseAttributeQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["case", "key"], name="one_value_per_case_attribute")]
        indexes = [models.Index(fields=["key", "value", "case"], name="case_attribute_lookup")]

    def __str__(self) -> str:
        return f"{self.key}={self.value}"
