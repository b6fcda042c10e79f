"""Case actions offered in the admin: one form and one workflow call per action.

The admin only parses input and picks the workflow function; the workflow layer checks
state, authority and the case version, and writes the history row.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

from django import forms
from django_fsm import has_transition_perm

from .. import authority, workflow
from ..models import ApprovalKind, Case, Level

TEXT_MAX = 20_000


class ActionForm(forms.Form):
    """Carries the case version the user saw, so acting on a stale page is a ``Conflict``."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31 - 1)

    def __init__(self, *args, case: Case, **kwargs):
        self.case = case
        super().__init__(*args, **kwargs)


def _text(label: str, help_text: str = "", *, rows: int = 3) -> forms.CharField:
    # Not ``required``: the workflow decides what is missing and says why in its own words.
    return forms.CharField(label=label, help_text=help_text, required=False, max_length=TEXT_MAX,
                           widget=forms.Textarea(attrs={"rows": rows, "cols": 80}))


class ConfirmForm(ActionForm):
    pass


class EscalateForm(ActionForm):
    summary = _text("Summary", "What the receiving level needs to know. Required.")
    steps_tried = _text("Steps tried", "What was tried already. Required.")
    customer_impact = _text("Customer impact", "Who is affected and how. Required.")
    knowledge_consulted = _text("Knowledge consulted", "Articles, runbooks, colleagues asked.")
    to_level = forms.ChoiceField(label="To level", required=False)
    justification = _text("Justification", "Required when skipping a level.", rows=2)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        above = Level.objects.above(case.level)
        self.fields["to_level"].choices = [("", "Next step of the path")] + [
            (lv.code, f"{lv.code} - {lv.name}") for lv in above
        ]


class ReasonForm(ActionForm):
    reason = _text("Reason", "Required.")


class OptionalReasonForm(ActionForm):
    reason = _text("Reason", "Optional.", rows=2)


class DeEscalateForm(ReasonForm):
    to_level = forms.ChoiceField(label="To level", required=False)

    def __init__(self, *args, case: Case, **kwargs):
        super().__init__(*args, case=case, **kwargs)
        self.fields["to_level"].choices = [("", "Previous step of the path")] + [
            (lv.code, f"{lv.code} - {lv.name}") for lv in Level.objects.below(case.level)
        ]


class ResolveForm(ActionForm):
    summary = _text("Resolution summary", "How the case was resolved; sent to the requester. Required.", rows=5)
    publish_article = forms.BooleanField(label="Publish as a knowledge article", required=False)


class BodyForm(ActionForm):
    body = _text("Text", "Required.", rows=6)


class ApprovalForm(ActionForm):
    kind = forms.ChoiceField(choices=ApprovalKind.choices)
    amount = forms.DecimalField(required=False, max_digits=14, decimal_places=2, min_value=0,
                                help_text="Required for spend.")
    description = _text("Description", "What needs approving and why. Required.", rows=4)


@dataclass(frozen=True)
class CaseAction:
    slug: str
    label: str
    form: type[ActionForm]
    perform: Callable[[Case, object, dict], str]
    # The FSM transition behind it; None: an action on an open case for anyone who works it.
    transition: str | None = None
    # Role permissions: without them the action is forbidden outright (403).
    perms: tuple[str, ...] = (authority.PERM_WORK,)
    one_click: bool = False
    # Workflow error fields named differently on the form.
    aliases: dict[str, str] = field(default_factory=dict)

    def role_allows(self, user) -> bool:
        return user.is_active and user.has_perms(self.perms)

    def available(self, case: Case, user) -> bool:
        if not self.role_allows(user):
            return False
        if self.transition is not None:
            return has_transition_perm(getattr(case, self.transition), user)
        return case.is_open and authority.can_work(case, user)


def _take(case, user, d):
    workflow.case_take(case_id=case.pk, actor=user, version=d["version"])
    return f"You took case #{case.pk}."


def _escalate(case, user, d):
    esc = workflow.case_escalate(
        case_id=case.pk, actor=user, version=d["version"],
        handoff=workflow.Handoff(summary=d["summary"], steps_tried=d["steps_tried"],
                                 customer_impact=d["customer_impact"],
                                 knowledge_consulted=d["knowledge_consulted"]),
        to_level_code=d["to_level"] or None, justification=d["justification"],
    )
    return (f"Case #{case.pk} escalated {esc.from_level.code} -> {esc.to_level.code}; "
            f"it waits for {esc.to_level.code} to accept it.")


def _accept(case, user, d):
    esc = workflow.case_accept(case_id=case.pk, actor=user, version=d["version"])
    return f"You accepted case #{case.pk} at {esc.to_level.code}."


def _return(case, user, d):
    esc = workflow.case_return(case_id=case.pk, actor=user, reason=d["reason"], version=d["version"])
    return f"Case #{case.pk} returned to {esc.from_level.code}."


def _de_escalate(case, user, d):
    esc = workflow.case_de_escalate(case_id=case.pk, actor=user, reason=d["reason"],
                                    to_level_code=d["to_level"] or None, version=d["version"])
    return f"Case #{case.pk} de-escalated {esc.from_level.code} -> {esc.to_level.code}."


def _pause(case, user, d):
    workflow.case_pause(case_id=case.pk, actor=user, reason=d["reason"], version=d["version"])
    return f"Case #{case.pk} is awaiting the customer; its clocks are paused."


def _resume(case, user, d):
    workflow.case_resume(case_id=case.pk, actor=user, reason=d["reason"] or "Customer answered",
                         version=d["version"])
    return f"Case #{case.pk} resumed; its clocks run again."


def _resolve(case, user, d):
    workflow.case_resolve(case_id=case.pk, actor=user, summary=d["summary"],
                          publish_article=d["publish_article"], version=d["version"])
    return f"Case #{case.pk} resolved; the requester is asked to confirm."


def _reopen(case, user, d):
    workflow.case_reopen(case_id=case.pk, actor=user, reason=d["reason"], version=d["version"])
    return f"Case #{case.pk} reopened."


def _close(case, user, d):
    workflow.case_close(case_id=case.pk, actor=user, version=d["version"])
    return f"Case #{case.pk} closed."


def _note(case, user, d):
    workflow.case_note(case_id=case.pk, actor=user, body=d["body"])
    return f"Internal note added to case #{case.pk}."


def _public(case, user, d):
    workflow.case_public_update(case_id=case.pk, actor=user, body=d["body"], version=d["version"])
    return f"Update sent to the requester of case #{case.pk}."


def _approval(case, user, d):
    req = workflow.approval_request(case_id=case.pk, actor=user, kind=d["kind"], amount=d["amount"],
                                    description=d["description"])
    return f"Approval requested from {req.required_level.code}: {req}."


_P = authority
CASE_ACTIONS: dict[str, CaseAction] = {a.slug: a for a in [
    CaseAction("take", "Take", ConfirmForm, _take, "take", one_click=True),
    CaseAction("escalate", "Escalate", EscalateForm, _escalate, "escalate",
               perms=(_P.PERM_WORK, _P.PERM_ESCALATE)),
    CaseAction("accept", "Accept", ConfirmForm, _accept, "accept", perms=(_P.PERM_ACCEPT,), one_click=True),
    CaseAction("return", "Return", ReasonForm, _return, "return_escalation", perms=(_P.PERM_ACCEPT,)),
    CaseAction("de-escalate", "De-escalate", DeEscalateForm, _de_escalate, "de_escalate",
               perms=(_P.PERM_ACCEPT, _P.PERM_DEESCALATE)),
    CaseAction("pause", "Await customer", ReasonForm, _pause, "pause_for_customer"),
    CaseAction("resume", "Resume", OptionalReasonForm, _resume, "resume"),
    CaseAction("resolve", "Resolve", ResolveForm, _resolve, "resolve",
               aliases={"resolution_summary": "summary"}),
    CaseAction("reopen", "Reopen", ReasonForm, _reopen, "reopen"),
    CaseAction("close", "Close", ConfirmForm, _close, "close", perms=(_P.PERM_WORK, _P.PERM_CLOSE),
               one_click=True),
    CaseAction("note", "Internal note", BodyForm, _note),
    CaseAction("public-update", "Public update", BodyForm, _public),
    CaseAction("request-approval", "Request approval", ApprovalForm, _approval),
]}


class DecisionForm(forms.Form):
    note = _text("Note", "Required when rejecting.", rows=4)
