"""One catalogue action on many cases (the queue's bulk bar): take, assign, add a note,
follow.

Each case goes through the catalogue entry's own form and workflow function, in a
transaction of its own, after checking that it is still at the version the page showed
(the row is locked for that check, then the workflow function locks it again in the same
transaction). A refusal (the case changed, moved out of sight, the workflow says no)
rolls back that case only and is reported with the workflow's reason; the others stand.
Every case that succeeds gets the history its action always writes (one case history
row for take and assign, the note's row for a note; following is not in the history)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from escalations import selectors, workflow
from escalations.actions import catalogue
from escalations.workflow.base import lock_case

BULK_ACTIONS = ("take", "assign", "note", "follow")
MAX_CASES = 100
OUT_OF_SIGHT = "No such case, or not one you may see."


@dataclass(frozen=True)
class Outcome:
    case_id: int
    done: bool
    message: str


def run(user, slug: str, items: list[tuple[int, int]], fields: dict, extra: dict | None = None) -> list[Outcome]:
    """Apply the action ``slug`` to each ``(case id, version seen)`` with the form ``fields``
    (``extra``: keyword arguments of the action's form, e.g. the assign form's choices)."""
    if slug not in BULK_ACTIONS:
        raise ValueError(f"'{slug}' is not a bulk action.")
    if len(items) > MAX_CASES:
        raise ValueError(f"At most {MAX_CASES} cases at once.")
    spec = catalogue.ACTIONS[slug]
    if not spec.role_allows(user):
        raise workflow.NotAllowed(f"Your role may not {spec.verb}.")
    visible = selectors.visible_cases(user).in_bulk([pk for pk, _ in items])
    outcomes = []
    for pk, version in items:
        case = visible.get(pk)
        if case is None:
            outcomes.append(Outcome(pk, False, OUT_OF_SIGHT))
            continue
        form = spec.form({"version": version, **fields}, **(extra or {}))
        if not form.is_valid():
            problems = [str(m) for errors in form.errors.values() for m in errors]
            outcomes.append(Outcome(pk, False, " ".join(problems)))
            continue
        try:
            with transaction.atomic():
                lock_case(pk, version)
                result = spec.perform(case, user, form)
        except workflow.WorkflowError as exc:
            outcomes.append(Outcome(pk, False, exc.message))
        else:
            outcomes.append(Outcome(pk, True, spec.message(result)))
    return outcomes
