"""One case as the API shows it, read as plain rows: the case with its codes and the text
model's suggestion in one statement, its latest notes in a second.

The API's case read is its hottest request; building model instances (the case row has some
sixty columns, five related rows) and compiling a five-join query cost most of it. This
reads only the columns the API shows, with ``values()`` queries compiled once per process
(``core.compiled``); ``api.serializers.case_detail``
shapes them exactly as ``CaseDetailSerializer`` would (a test compares the two). Who may see
the case is decided as in ``case_for``: from the row's level, and only for a case at
another level by the full visibility query (invited, followed).
"""

from __future__ import annotations

from django.http import Http404

from escalations.core.compiled import Compiled
from escalations.models import Case, Note
from escalations.selectors.cases import visible_cases

NOTES = 100  # the latest notes shown with a case (the case page pages through the rest)

CASE_COLUMNS = (
    "id",
    "title",
    "status",
    "priority",
    "level_id",
    "level__code",
    "category__code",
    "team__name",
    "assignee__username",
    "requester_name",
    "requester_email",
    "impact",
    "urgency",
    "opened_at",
    "response_due_at",
    "resolution_due_at",
    "resolved_at",
    "closed_at",
    "version",
    "description",
    "resolution_summary",
    # The suggestion (a reverse one-to-one: a LEFT JOIN, all None when there is none).
    "suggestion__id",
    "suggestion__category_id",
    "suggestion__category_confidence",
    "suggestion__priority",
    "suggestion__priority_confidence",
    "suggestion__level__code",
    "suggestion__level_confidence",
    "suggestion__words",
    "suggestion__decision",
    "suggestion__routed",
)
NOTE_COLUMNS = ("id", "kind", "author__username", "sender", "body", "created_at")


# Compiled once per process (``core.compiled``): compiling the joins took most of a read's CPU.
_CASE = Compiled(lambda pk: Case.objects.filter(pk=pk).values(*CASE_COLUMNS))
_NOTES = Compiled(
    lambda pk: Note.objects.filter(case_id=pk).order_by("-created_at", "-pk").values(*NOTE_COLUMNS)[:NOTES]
)


def case_card(user, pk: int) -> tuple[dict, list[dict]]:
    """The case's row (``CASE_COLUMNS``) and its latest notes, oldest first, if ``user`` may
    see it; else 404, as ``case_for``."""
    found = _CASE.rows(pk)
    if not found:
        raise Http404("No such case, or not one you may see.")
    row = found[0]
    levels = Case.objects.visible_levels(user)
    if levels is not None and row["level_id"] not in levels and not visible_cases(user).filter(pk=pk).exists():
        raise Http404("No such case, or not one you may see.")
    notes = _NOTES.rows(pk)
    notes.reverse()
    return row, notes
