"""Staff pages (server-rendered) and the requester's confirmation page. Views stay thin:
parse with ``escalations.forms``, read with ``escalations.selectors``, write only
through ``escalations.workflow``."""
from .auth import LoginView, LogoutView, home
from .case_actions import approval_decide, case_action
from .case_page import case_detail, case_similar_resolved
from .intake import case_new, case_similar
from .knowledge import article_link, article_unlink, kb_detail, kb_list
from .queues import collab_queue, my_queue, team_queue
from .requester import requester_confirm
from .reviews import case_review

__all__ = [
    "LoginView", "LogoutView", "approval_decide", "collab_queue", "article_link", "article_unlink", "case_action", "case_detail",
    "case_new", "case_review", "case_similar", "case_similar_resolved", "home", "kb_detail", "kb_list", "my_queue",
    "requester_confirm", "team_queue",
]
