"""The text model's suggestions at intake: what staff did with them, whether the suggested
resolving level was right, and how often routing straight to it was right."""

from __future__ import annotations

from escalations.models import CaseSuggestion, TextModel
from escalations.reports.base import Column, Scope, Table, pct, report
from escalations.selectors import suggestion_figures as figures


@report(
    "suggestions",
    "Text model suggestions",
    "Category, priority and level suggested from a new case's text: how often staff kept them, how often the "
    "suggested level resolved the case, and how often routing straight to it was right.",
)
def suggestions(scope: Scope) -> list[Table]:
    qs = CaseSuggestion.objects.filter(case__in=scope.cases().values("pk"))
    d = figures.decisions(qs)
    r = figures.routed(qs)
    decisions = Table(
        "decisions",
        "Suggestions and staff decisions",
        [
            Column("suggested", "Suggested"),
            Column("decided", "Decided by staff"),
            Column("accepted", "Accepted"),
            Column("changed", "Changed"),
            Column("category_kept", "Category kept %", "pct"),
            Column("priority_kept", "Priority kept %", "pct"),
            Column("resolved", "Resolved, with a level suggested"),
            Column("level_right", "Resolved at the suggested level %", "pct"),
        ],
        [
            [
                d.suggested,
                d.decided,
                d.accepted,
                d.changed,
                pct(d.category_accepted, d.category_decided),
                pct(d.priority_accepted, d.priority_decided),
                d.level_resolved,
                pct(d.level_right, d.level_resolved),
            ]
        ],
        note="Cases opened in the range. Staff decide on the intake form (their choice with the suggestion in "
        "view) or on the case page for cases from e-mail, the portal and the API.",
    )
    routed = Table(
        "routed",
        "Routed straight to the predicted level",
        [
            Column("routed", "Routed at intake"),
            Column("settled", "Settled (resolved or returned)"),
            Column("right", "Right"),
            Column("returned", "Returned"),
            Column("right_rate", "Right %", "pct"),
        ],
        [[r.routed, r.settled, r.right, r.returned, pct(r.right, r.settled)]],
        note="Right: the routing handoff was not returned and the case was resolved at the level it was routed to "
        "(routing policy: route straight to the predicted level).",
    )
    return [decisions, routed, _model()]


def _model() -> Table:
    """The active model's own figures on its time-ordered hold-out (``train_text_model``)."""
    model = TextModel.objects.filter(is_active=True).defer("parameters").first()
    rows = []
    if model is not None:
        for target in ("category", "priority", "level"):
            m = model.metrics.get(target) or {}
            scale = lambda v: None if v is None else round(100 * v, 1)  # noqa: E731
            rows.append(
                [
                    target,
                    m.get("classes", 0),
                    model.n_train,
                    m.get("n_test", model.n_test),
                    scale(m.get("top1")),
                    scale(m.get("top3")),
                    scale(m.get("macro_f1")),
                    scale(m.get("baseline_top1")),
                ]
            )
    return Table(
        "model",
        "The active text model on its hold-out",
        [
            Column("target", "Suggests", "text"),
            Column("classes", "Classes (above the guard)"),
            Column("n_train", "Training cases"),
            Column("n_test", "Test cases"),
            Column("top1", "Top-1 %", "pct"),
            Column("top3", "Top-3 %", "pct"),
            Column("macro_f1", "Macro F1 %", "pct"),
            Column("baseline_top1", "Most common class, top-1 %", "pct"),
        ],
        rows,
        note="Measured when the model was trained: the newest fifth of the resolved cases by opening, trained on "
        "the cases resolved before it (any range; the filters above do not apply).",
    )
