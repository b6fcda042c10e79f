"""The one action catalogue: every workflow action, declared once.

Each entry names its workflow function, the form that parses its input, the object it
acts on, the transition behind it (whose source states, conditions and permission decide
whether it is offered), the role permissions without which it is forbidden outright,
and the words around it. The staff pages, the admin, the API and the timeline all read
this list; ``tests/test_catalogue.py`` checks that every workflow action is in it
exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django_fsm import has_transition_perm

from escalations import selectors, workflow
from escalations.actions import forms
from escalations.domain import authority
from escalations.models import Case, CaseStatus, Level
from escalations.selectors import canned
from escalations.workflow import automation, major, suggestions
from escalations.workflow.base import verb_of

P = authority

# What an action acts on, and the keyword its workflow function takes the object's id by.
TARGET_KEYWORD = {
    "case": "case_id",
    "approval": "approval_id",
    "collaboration": "collaboration_id",
    "authority-change": "change_id",
    "new": None,
}


@dataclass(frozen=True)
class Action:
    function: Callable  # the one workflow function it calls (declared with ``workflow.base.action``)
    name: str  # the heading of its panel or page
    button: str  # the submit button
    form: type[forms.DeskForm]
    target: str = "case"  # see TARGET_KEYWORD
    transition: str | None = None  # the Case transition behind it
    perms: tuple[str, ...] = (P.PERM_WORK,)  # role permissions; without them: forbidden
    allowed: Callable[[Case, object], bool] | None = None  # besides the transition: may this user, now?
    pointless: Callable[[Case, object], bool] | None = None  # allowed, but no button (e.g. take your own case)
    choices: Callable[[Case, object], dict] | None = None  # dynamic keyword arguments for the form
    done: Callable[[object], str] | str = "Done."
    one_click: bool = False  # a button with nothing to type
    on_case_page: bool = True  # False: it has a page of its own (intake, review) or its own place

    @property
    def slug(self) -> str:
        """In URLs, form prefixes, the API and the history rows the action writes."""
        return self.function.slug

    @property
    def verb(self) -> str:
        """How refusals and history name it: the transition's declared verb, else the slug's words."""
        return verb_of(Case, self.transition) if self.transition else self.slug.replace("-", " ")

    def role_allows(self, user) -> bool:
        return bool(user.is_active and user.has_perms(self.perms))

    def available(self, case: Case, user) -> bool:
        """Offer it? The workflow checks again when it is submitted."""
        if not self.role_allows(user):
            return False
        if self.transition is not None and not has_transition_perm(getattr(case, self.transition), user):
            return False
        return self.allowed is None or self.allowed(case, user)

    def offered(self, case: Case, user) -> bool:
        """Show its button or panel: available, and not pointless right now."""
        return self.available(case, user) and not (self.pointless and self.pointless(case, user))

    def make_form(self, case: Case | None, user, data=None, prefix: str | None = None, files=None) -> forms.DeskForm:
        extra = self.choices(case, user) if self.choices and case is not None else {}
        initial = {"version": case.version} if case is not None and issubclass(self.form, forms.VersionForm) else None
        return self.form(data, files, prefix=prefix, initial=initial, **extra)

    def perform(self, obj, user, form: forms.DeskForm):
        """Call the workflow function with the form's arguments (raises ``WorkflowError``)."""
        keyword = TARGET_KEYWORD[self.target]
        ids = {keyword: obj.pk} if keyword else {}
        return self.function(actor=user, **ids, **form.arguments())

    def message(self, result) -> str:
        return self.done(result) if callable(self.done) else self.done


# -- who may see which button, beyond the transitions ---------------------------------------


def _waiting(case: Case, user) -> bool:
    """Resume: a pause for the customer (the transition), or a wait on someone else."""
    if case.status == CaseStatus.IN_PROGRESS and case.waiting_on:
        return authority.can_work(case, user)
    return has_transition_perm(case.resume, user)


def _open_and_working(case: Case, user) -> bool:
    return case.is_open and authority.can_work(case, user)


def _may_note(case: Case, user) -> bool:
    return case.is_open and authority.can_note(case, user)


def _mine(case: Case, user) -> bool:
    return case.assignee_id == user.pk


def _following(case: Case, user) -> bool:
    return case.watchers.filter(pk=user.pk).exists()


# -- dynamic choices ----------------------------------------------------------------------------


def _assignees(case: Case, user) -> dict:
    choices = [(user.pk, f"Me ({user.get_username()})")]
    choices += [(c.user.pk, c.label) for c in selectors.colleagues_with_capacity(case) if c.user.pk != user.pk]
    return {"choices": choices}


def _targets(case: Case, user) -> dict:
    return {"targets": selectors.escalation_targets(case)}


def _levels_below(case: Case, user) -> dict:
    return {"levels": list(Level.objects.below(case.level))}


def _canned_replies(case: Case, user) -> dict:
    return {"replies": canned.replies_for(user)}


def _suggestion(case: Case, user) -> dict:
    return {"suggestion": suggestions.pending(case)}


def _suggestion_pending(case: Case, user) -> bool:
    return case.is_open and authority.can_work(case, user) and suggestions.pending(case) is not None


def _invitees(case: Case, user) -> dict:
    return {"choices": selectors.invitees(case, user)}


def _escalated(esc) -> str:
    return (
        f"The case was escalated {esc.from_level.code} -> {esc.to_level.code}; "
        f"{esc.to_level.code} was notified and must accept it."
    )


ACTIONS: dict[str, Action] = {
    a.slug: a
    for a in [
        Action(
            workflow.case_open,
            "Open a case",
            "Open the case",
            forms.NewCaseForm,
            target="new",
            done=lambda case: f"Case #{case.pk} opened.",
            on_case_page=False,
        ),
        Action(
            workflow.case_take,
            "Take the case",
            "Take it",
            forms.VersionForm,
            transition="take",
            pointless=_mine,
            one_click=True,
            done="You took the case.",
        ),
        Action(
            workflow.case_accept,
            "Accept the escalation",
            "Accept",
            forms.VersionForm,
            transition="accept",
            perms=(P.PERM_ACCEPT,),
            one_click=True,
            done=lambda esc: f"You accepted the escalation at {esc.to_level.code}; the case is yours.",
        ),
        Action(
            workflow.case_return,
            "Return the escalation",
            "Return it",
            forms.ReturnForm,
            transition="return_escalation",
            perms=(P.PERM_ACCEPT,),
            done=lambda esc: f"The escalation was returned to the level it came from ({esc.from_level.code}).",
        ),
        Action(
            workflow.case_assign,
            "Assign",
            "Assign",
            forms.AssignForm,
            transition="assign",
            choices=_assignees,
            done="The case was assigned.",
        ),
        Action(
            workflow.case_note,
            "Add an internal note",
            "Add note",
            forms.NoteForm,
            allowed=_may_note,
            done="Note added.",
        ),
        Action(
            workflow.case_public_update,
            "Send an update to the requester",
            "Send update",
            forms.PublicUpdateForm,
            transition="record_response",
            choices=_canned_replies,
            done="Update sent to the requester.",
        ),
        Action(
            workflow.case_record_contact,
            "Record customer contact (phone)",
            "Record the call",
            forms.RecordContactForm,
            transition="record_response",
            done="Customer contact recorded.",
        ),
        Action(
            workflow.case_classify,
            "Accept or change the suggested classification",
            "Record the classification",
            forms.ClassifyForm,
            allowed=_suggestion_pending,
            choices=_suggestion,
            done="The classification is recorded against the text model's suggestion.",
        ),
        Action(
            workflow.case_change_priority,
            "Change the priority",
            "Change priority",
            forms.ChangePriorityForm,
            transition="change_priority",
            done=lambda case: f"The case is now P{case.priority}; its SLA was recomputed.",
        ),
        Action(
            workflow.case_pause,
            "Wait on the customer or a vendor",
            "Start waiting",
            forms.PauseForm,
            transition="pause_for_customer",
            done=lambda case: (
                "The case is waiting for the customer; the SLA clock is paused."
                if case.paused_at
                else f"The case waits on {case.get_waiting_on_display().lower()}; the SLA clock runs."
            ),
        ),
        Action(
            workflow.case_resume,
            "Resume",
            "Stop waiting",
            forms.ResumeForm,
            allowed=_waiting,
            done="The case is back in progress; the SLA clock runs.",
        ),
        Action(
            workflow.case_escalate,
            "Escalate",
            "Escalate with this handoff",
            forms.EscalateForm,
            transition="escalate",
            perms=(P.PERM_WORK, P.PERM_ESCALATE),
            choices=_targets,
            done=_escalated,
        ),
        Action(
            workflow.case_de_escalate,
            "Hand the case back down",
            "De-escalate",
            forms.DeEscalateForm,
            transition="de_escalate",
            perms=(P.PERM_ACCEPT, P.PERM_DEESCALATE),
            choices=_levels_below,
            done=lambda esc: f"The case went down {esc.from_level.code} -> {esc.to_level.code}.",
        ),
        Action(
            workflow.approval_request,
            "Request an approval",
            "Request approval",
            forms.ApprovalRequestForm,
            allowed=_open_and_working,
            done=lambda req: f"Approval requested from {req.required_level.code}, as the authority matrix says.",
        ),
        Action(
            workflow.approval_decide,
            "Decide the approval",
            "Record decision",
            forms.ApprovalDecisionForm,
            target="approval",
            perms=(P.PERM_DECIDE,),
            done="Decision recorded.",
            on_case_page=False,
        ),
        Action(
            workflow.approval_withdraw,
            "Withdraw the approval request",
            "Withdraw",
            forms.WithdrawApprovalForm,
            target="approval",
            done="The approval request was withdrawn.",
            on_case_page=False,
        ),
        Action(
            workflow.authority_change_propose,
            "Propose an authority change",
            "Propose",
            forms.AuthorityChangeForm,
            target="new",
            perms=(P.PERM_MANAGE,),
            done=lambda change: f"Proposed: {change.summary}. A second manager must approve it before it applies.",
            on_case_page=False,
        ),
        Action(
            workflow.authority_change_decide,
            "Decide the authority change",
            "Record decision",
            forms.ApprovalDecisionForm,
            target="authority-change",
            perms=(P.PERM_MANAGE,),
            done=lambda change: f"{change.summary}: {change.get_status_display().lower()}.",
            on_case_page=False,
        ),
        Action(
            workflow.case_follow,
            "Follow the case",
            "Follow",
            forms.FollowForm,
            perms=(P.PERM_WORK,),
            pointless=_following,
            one_click=True,
            done="You follow the case: it is in your Following queue and you are told when it moves.",
        ),
        Action(
            workflow.case_unfollow,
            "Stop following",
            "Unfollow",
            forms.FollowForm,
            perms=(P.PERM_WORK,),
            pointless=lambda case, user: not _following(case, user),
            one_click=True,
            done="You no longer follow the case.",
        ),
        Action(
            workflow.case_resolve,
            "Resolve",
            "Resolve",
            forms.ResolveForm,
            transition="resolve",
            done="Resolved; the requester was asked to confirm.",
        ),
        Action(
            workflow.case_reopen,
            "Reopen",
            "Reopen",
            forms.ReasonForm,
            transition="reopen",
            done="The case was reopened.",
        ),
        Action(
            workflow.case_close,
            "Close",
            "Close the case",
            forms.CloseForm,
            transition="close",
            perms=(P.PERM_WORK, P.PERM_CLOSE),
            done="The case is closed.",
        ),
        Action(
            workflow.case_end_major_incident,
            "End the major incident",
            "End the major incident",
            forms.ReasonForm,
            perms=(P.PERM_WORK,),
            allowed=lambda case, user: major.may_end(case, user),
            done="The major incident is over; the case keeps its P1 and still needs its review.",
        ),
        Action(
            workflow.case_invite,
            "Invite a collaborator",
            "Invite",
            forms.InviteForm,
            allowed=_open_and_working,
            choices=_invitees,
            done="Invited; the case appears in their collaborating queue. You stay accountable.",
        ),
        Action(
            workflow.case_leave,
            "Leave the collaboration",
            "Leave",
            forms.EndCollaborationForm,
            target="collaboration",
            done="You left the collaboration.",
            on_case_page=False,
        ),
        Action(
            workflow.case_end_collaboration,
            "End the collaboration",
            "End it",
            forms.EndCollaborationForm,
            target="collaboration",
            done="The collaboration ended.",
            on_case_page=False,
        ),
        Action(
            workflow.knowledge_link,
            "Link a knowledge article",
            "Link",
            forms.ArticleLinkForm,
            allowed=_open_and_working,
            done="Article linked.",
            on_case_page=False,
        ),
        Action(
            workflow.case_review,
            "Post-escalation review",
            "Save the review",
            forms.ReviewForm,
            perms=(P.PERM_REVIEW,),
            allowed=lambda case, user: selectors.can_review(case, user),
            done="Review saved.",
            on_case_page=False,
        ),
        # The requester's own actions: taken through a channel (e-mail; the portal and API later),
        # which acts as the system actor; no staff button.
        Action(
            workflow.case_open_from_requester,
            "Request from the requester",
            "Send the request",
            forms.RequesterCaseForm,
            target="new",
            done=lambda sent: f"Case #{sent.case.pk} opened.",
            on_case_page=False,
        ),
        Action(
            workflow.case_customer_message,
            "Message from the requester",
            "Send the message",
            forms.RequesterMessageForm,
            done="Message added to the case.",
            on_case_page=False,
        ),
        # The requester portal (``escalations.portal``), also as the system actor.
        Action(
            workflow.portal_send_link,
            "Sign-in link to the portal",
            "Send me a link",
            forms.PortalLinkForm,
            target="new",
            done="If this address can use the portal, a sign-in link is on its way.",
            on_case_page=False,
        ),
        Action(
            workflow.knowledge_deflect,
            "An article solved it",
            "This solved it",
            forms.DeflectionForm,
            target="new",
            done="Glad it helped. Nothing was opened; you can still send a request.",
            on_case_page=False,
        ),
        Action(
            workflow.survey_answer,
            "Satisfaction survey",
            "Send my answer",
            forms.SurveyForm,
            done="Thank you for your answer.",
            on_case_page=False,
        ),
    ]
}


RULE = automation.RULE  # what the sweep's writes record as their action


def action_name(slug: str) -> str:
    """What a history row's action is called on the timeline and in the audit log."""
    if slug == RULE:
        return "Automatic rule"
    action = ACTIONS.get(slug)
    return action.name if action is not None else ""


def name_entries(entries: list) -> list:
    """Timeline entries with their action's name from this catalogue."""
    for entry in entries:
        entry.action_name = action_name(entry.action)
    return entries


def case_page_actions() -> list[Action]:
    return [a for a in ACTIONS.values() if a.target == "case" and a.on_case_page]


def available(case: Case, user) -> set[str]:
    """The slugs of the case actions to offer this user on this case now."""
    return {a.slug for a in ACTIONS.values() if a.target == "case" and a.offered(case, user)}
