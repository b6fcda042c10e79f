"""The actions offered on a case page: for each, the form that parses it and the one
workflow call that performs it. A dispatch table, so the case page, the POST endpoint
and the tests read the same list."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .. import forms, selectors, workflow
from ..models import Case


@dataclass(frozen=True)
class Action:
    title: str  # the heading of its panel
    button: str
    form: Callable[..., forms.DeskForm]  # (data, prefix=..., initial=..., **extra)
    run: Callable[[Case, object, dict], object]
    done: str  # the message after it succeeded
    extra: Callable[[Case, object], dict] | None = None  # dynamic choices for the form

    def make_form(self, name: str, case: Case, user, data=None) -> forms.DeskForm:
        extra = self.extra(case, user) if self.extra else {}
        return self.form(data, prefix=name, initial={"version": case.version}, **extra)


def _assignees(case: Case, user) -> dict:
    choices = [(user.pk, f"Me ({user.get_username()})")]
    choices += [(c.user.pk, c.label) for c in selectors.colleagues_with_capacity(case) if c.user.pk != user.pk]
    return {"choices": choices}


def _targets(case: Case, user) -> dict:
    return {"targets": selectors.escalation_targets(case)}


def _escalate(case: Case, user, d: dict):
    handoff = workflow.Handoff(summary=d["summary"], steps_tried=d["steps_tried"],
                               customer_impact=d["customer_impact"], knowledge_consulted=d["knowledge_consulted"])
    return workflow.case_escalate(case_id=case.pk, actor=user, handoff=handoff, to_level_code=d["to_level"] or None,
                                  justification=d["justification"], version=d["version"])


def _invitees(case: Case, user) -> dict:
    return {"choices": selectors.invitees(case, user)}


def _invite(case: Case, user, d: dict):
    kind, pk = d["collaborator"][0], int(d["collaborator"][1:])
    return workflow.case_invite(case_id=case.pk, actor=user, reason=d["reason"],
                                **({"user_id": pk} if kind == "u" else {"team_id": pk}))


ACTIONS: dict[str, Action] = {
    "take": Action("Take the case", "Take it", forms.VersionForm,
                   lambda c, u, d: workflow.case_take(case_id=c.pk, actor=u, version=d["version"]),
                   "You took the case."),
    "accept": Action("Accept the escalation", "Accept", forms.VersionForm,
                     lambda c, u, d: workflow.case_accept(case_id=c.pk, actor=u, version=d["version"]),
                     "You accepted the escalation; the case is yours."),
    "return": Action("Return the escalation", "Return it", forms.ReturnForm,
                     lambda c, u, d: workflow.case_return(case_id=c.pk, actor=u, reason=d["reason"],
                                                          version=d["version"]),
                     "The escalation was returned to the level it came from."),
    "assign": Action("Assign", "Assign", forms.AssignForm,
                     lambda c, u, d: workflow.case_assign(case_id=c.pk, actor=u, assignee_id=d["assignee"],
                                                          version=d["version"]),
                     "The case was assigned.", _assignees),
    "note": Action("Add an internal note", "Add note", forms.NoteForm,
                   lambda c, u, d: workflow.case_note(case_id=c.pk, actor=u, body=d["body"]),
                   "Note added."),
    "update": Action("Send an update to the requester", "Send update", forms.PublicUpdateForm,
                     lambda c, u, d: workflow.case_public_update(case_id=c.pk, actor=u, body=d["body"],
                                                                 version=d["version"]),
                     "Update sent to the requester."),
    "pause": Action("Pause for the customer", "Pause the clock", forms.PauseForm,
                    lambda c, u, d: workflow.case_pause(case_id=c.pk, actor=u, reason=d["reason"],
                                                        version=d["version"]),
                    "The case is waiting for the customer; the SLA clock is paused."),
    "resume": Action("Resume", "Resume the clock", forms.ResumeForm,
                     lambda c, u, d: workflow.case_resume(case_id=c.pk, actor=u,
                                                          reason=d["reason"] or "Customer answered",
                                                          version=d["version"]),
                     "The case is back in progress; the SLA clock runs again."),
    "escalate": Action("Escalate", "Escalate with this handoff", forms.EscalateForm, _escalate,
                       "The case was escalated; the receiving level was notified.", _targets),
    "approval": Action("Request an approval", "Request approval", forms.ApprovalRequestForm,
                       lambda c, u, d: workflow.approval_request(case_id=c.pk, actor=u, kind=d["kind"],
                                                                 description=d["description"], amount=d["amount"]),
                       "Approval requested from the level the authority matrix names."),
    "resolve": Action("Resolve", "Resolve", forms.ResolveForm,
                      lambda c, u, d: workflow.case_resolve(case_id=c.pk, actor=u, summary=d["summary"],
                                                            publish_article=d["publish_article"],
                                                            version=d["version"]),
                      "Resolved; the requester was asked to confirm."),
    "reopen": Action("Reopen", "Reopen", forms.ReasonForm,
                     lambda c, u, d: workflow.case_reopen(case_id=c.pk, actor=u, reason=d["reason"],
                                                          version=d["version"]),
                     "The case was reopened."),
    "invite": Action("Invite a collaborator", "Invite", forms.InviteForm, _invite,
                     "Invited; the case appears in their collaborating queue. You stay accountable.", _invitees),
    "close": Action("Close", "Close the case", forms.CloseForm,
                    lambda c, u, d: workflow.case_close(case_id=c.pk, actor=u,
                                                        reason=d["reason"] or "Closed by staff",
                                                        version=d["version"]),
                    "The case is closed."),
}

# Actions that are one button (their form has only the hidden version).
BUTTONS = ("take", "accept")
