"""The text the queue's search box and the requester portal look cases up by, in a side
table beside the case.

A case row changes on every sweep escalation, pause, assignment and clock mark, and an
update that changes an indexed column writes a new entry in every index of the table. The
trigram indexes behind the search box (GIN over ``UPPER(title)``, requester name and
address) were the largest of those entries, written again on every such update although
the text never changed; here they sit on a narrow table that changes only when the text
does (issue 18, "trigram search data in a side table the sweep never updates").

The database keeps the copy (``core/search_text.py``): a case inserted by any path (the
workflow, an importer, a set-based seed) gets its row, an update naming one of the three
columns with a new value rewrites it, a deleted case loses it. ``check_invariants`` checks
that every case has its row with the case's text."""

from __future__ import annotations

from django.db import models
from django.db.models.functions import Upper


class CaseSearch(models.Model):
    # No constraint: the database's own triggers insert and delete these rows with the
    # case (so no ORM cascade is needed and a raw delete of cases leaves nothing behind).
    case = models.OneToOneField(
        "escalations.Case",
        primary_key=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="search_text",
    )
    title = models.CharField(max_length=200)
    requester_name = models.CharField(max_length=120)
    requester_email = models.EmailField()

    class Meta:
        indexes = [
            # The requester portal finds a requester's cases by address, whatever the case
            # (``requester_email__iexact`` is ``UPPER(...) = UPPER(...)`` on PostgreSQL).
            models.Index(Upper("requester_email"), name="casesearch_email_upper"),
        ]

    def __str__(self) -> str:
        return f"Search text of case #{self.case_id}"
