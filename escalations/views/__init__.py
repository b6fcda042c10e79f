"""Staff pages (server-rendered) and the requester's confirmation page. Views stay thin:
parse with ``escalations.forms``, read with ``escalations.selectors``, write only
through ``escalations.workflow``."""

from escalations.views.approvals import approvals_list
from escalations.views.attachments import case_attachment
from escalations.views.auth import LoginView, LogoutView, home
from escalations.views.canned import case_insert_reply
from escalations.views.case_actions import approval_decide, approval_withdraw, case_action
from escalations.views.case_page import case_detail, case_similar_resolved
from escalations.views.intake import case_new, case_similar, case_suggest
from escalations.views.knowledge import article_link, article_unlink, kb_detail, kb_list
from escalations.views.queue_tools import queue_bulk, queue_filter_delete, queue_filter_save, queue_live
from escalations.views.queues import collab_queue, following_queue, my_queue, team_queue
from escalations.views.requester import requester_confirm
from escalations.views.reviews import case_review

__all__ = [
    "LoginView",
    "LogoutView",
    "approval_decide",
    "approval_withdraw",
    "following_queue",
    "approvals_list",
    "case_attachment",
    "case_insert_reply",
    "collab_queue",
    "article_link",
    "article_unlink",
    "case_action",
    "case_detail",
    "case_new",
    "case_review",
    "case_similar",
    "case_suggest",
    "case_similar_resolved",
    "home",
    "kb_detail",
    "kb_list",
    "my_queue",
    "queue_bulk",
    "queue_filter_delete",
    "queue_filter_save",
    "queue_live",
    "requester_confirm",
    "team_queue",
]
