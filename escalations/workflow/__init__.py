"""The only write path. Views, admin, tasks and the sweep call these functions; each
locks what it changes, checks permission, runs the transition, saves with the history
user and a reason, and queues side effects to run after commit."""

from escalations.workflow.actors import Actor, is_system, system_actor
from escalations.workflow.approvals import approval_decide, approval_request, approval_withdraw
from escalations.workflow.attachments import IncomingFile, attach_files, check_files
from escalations.workflow.authority_changes import authority_change_decide, authority_change_propose
from escalations.workflow.base import Conflict, InvalidAction, NotAllowed, WorkflowError
from escalations.workflow.cases import (
    case_assign,
    case_close,
    case_note,
    case_open,
    case_pause,
    case_public_update,
    case_reopen,
    case_resolve,
    case_resume,
    case_take,
)
from escalations.workflow.commitments import case_change_priority, case_record_contact
from escalations.workflow.customer import CustomerMessage, case_customer_message, case_open_from_requester
from escalations.workflow.following import case_follow, case_unfollow
from escalations.workflow.knowledge import knowledge_link
from escalations.workflow.ladder import (
    Handoff,
    case_accept,
    case_de_escalate,
    case_escalate,
    case_return,
    plan_escalation,
)
from escalations.workflow.major import case_end_major_incident
from escalations.workflow.portal import knowledge_deflect, portal_send_link, survey_answer
from escalations.workflow.reviews import case_review
from escalations.workflow.suggestions import case_classify
from escalations.workflow.swarming import case_end_collaboration, case_invite, case_leave

__all__ = [
    "Conflict",
    "Handoff",
    "InvalidAction",
    "NotAllowed",
    "WorkflowError",
    "approval_decide",
    "approval_request",
    "approval_withdraw",
    "case_accept",
    "case_assign",
    "case_close",
    "case_de_escalate",
    "case_escalate",
    "case_note",
    "case_open",
    "case_pause",
    "case_public_update",
    "case_reopen",
    "case_resolve",
    "case_resume",
    "case_return",
    "case_review",
    "knowledge_link",
    "case_take",
    "plan_escalation",
]
__all__ += ["case_end_collaboration", "case_invite", "case_leave"]  # swarming
__all__ += ["case_follow", "case_unfollow"]  # following
__all__ += ["authority_change_decide", "authority_change_propose"]  # four-eyes
__all__ += ["Actor", "is_system", "system_actor"]
__all__ += ["case_end_major_incident"]  # major incidents
__all__ += [
    "CustomerMessage",
    "IncomingFile",
    "attach_files",
    "case_customer_message",  # the requester's channels
    "case_open_from_requester",
    "check_files",
]
__all__ += ["case_change_priority", "case_record_contact"]  # the SLA: priority change, customer contact
__all__ += ["knowledge_deflect", "portal_send_link", "survey_answer"]  # the requester portal
__all__ += ["case_classify"]  # the text model's suggestion at intake
