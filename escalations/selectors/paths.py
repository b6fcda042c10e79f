"""Selectors over escalation paths: where a case goes next on its ladder."""

from __future__ import annotations

from escalations.models import Case, Category, EscalationPath, Level, PathStep, Team


def path_for(category: Category) -> EscalationPath | None:
    return (
        EscalationPath.objects.filter(category=category).first()
        or EscalationPath.objects.filter(category__isnull=True).order_by("pk").first()
    )


def steps_of(path_id: int | None) -> list[tuple[Level, Team | None]]:
    if path_id is None:
        return []
    return [
        (s.level, s.team)
        for s in PathStep.objects.filter(path_id=path_id).select_related("level", "team").order_by("order")
    ]


def next_step(case: Case, steps: list[tuple[Level, Team | None]] | None = None) -> tuple[Level, Team | None] | None:
    """The first step above the case's level; without a path, the next level by rank."""
    steps = steps_of(case.path_id) if steps is None else steps
    for level, team in steps:
        if level.rank > case.level.rank:
            return level, team
    if steps:
        return None  # the path ends here: nothing above it on this ladder
    nxt = case.level.next_level()
    return (nxt, None) if nxt else None


def previous_step(case: Case, steps: list[tuple[Level, Team | None]] | None = None) -> tuple[Level, Team | None] | None:
    steps = steps_of(case.path_id) if steps is None else steps
    below = [(lv, t) for lv, t in steps if lv.rank < case.level.rank]
    if below:
        return below[-1]
    prev = case.level.previous_level()
    return (prev, None) if prev else None


def team_at(level: Level, steps: list[tuple[Level, Team | None]]) -> Team | None:
    for step_level, team in steps:
        if step_level.pk == level.pk:
            return team
    return None
