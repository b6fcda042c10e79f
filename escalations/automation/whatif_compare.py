"""The what-if's two replays side by side: the same period under the current setup (the
default policy and the active rules) and under the draft, with the difference per figure,
so a manager sees what a change would do before activating it."""

from __future__ import annotations

from dataclasses import dataclass

from escalations.automation.whatif import Report

SUMMARY = [
    ("cases_breaching_response", "Cases breaching a response target"),
    ("cases_breaching_resolution", "Cases breaching the resolution target"),
    ("cases_escalated_by_rule", "Cases escalated by a rule"),
    ("notices", "Rule notices"),
    ("priority_raises", "Priority raises"),
]
LEVEL_FIGURES = ["cases", "response_breaches", "resolution_breaches", "rule_escalations", "manual_escalations"]
TEAM_FIGURES = ["cases", "escalations_in", "peak_open"]


@dataclass(frozen=True)
class Cell:
    current: int
    draft: int

    @property
    def diff(self) -> int:
        return self.draft - self.current

    @property
    def diff_text(self) -> str:
        return "±0" if self.diff == 0 else f"{self.diff:+d}".replace("-", "−")


def compare(current: Report, draft: Report) -> dict:
    summary = [(label, Cell(getattr(current, key), getattr(draft, key))) for key, label in SUMMARY]
    levels = []
    for code in list(dict.fromkeys([*current.levels, *draft.levels])):
        a, b = current.levels.get(code), draft.levels.get(code)
        levels.append((code, [Cell(getattr(a, f, 0) if a else 0, getattr(b, f, 0) if b else 0) for f in LEVEL_FIGURES]))
    teams = []
    for name in sorted(set(current.teams) | set(draft.teams)):
        a, b = current.teams.get(name), draft.teams.get(name)
        teams.append((name, [Cell(getattr(a, f, 0) if a else 0, getattr(b, f, 0) if b else 0) for f in TEAM_FIGURES]))
    return {"summary": summary, "levels": levels, "teams": teams}
