"""Read-only queries for the staff pages (nothing here writes): who sees which cases,
the queues in SLA-urgency order, what a user may do on a case, the timeline, search
for similar cases and knowledge."""
from escalations.selectors.cases import (
    PAGE_SIZE,
    Colleague,
    QueueFilters,
    QueuePage,
    QueueRow,
    Target,
    approvals_to_decide,
    awaiting_acceptance,
    can_review,
    case_for,
    collaborating_rows,
    colleagues_with_capacity,
    decidable,
    escalation_targets,
    filter_teams,
    invitees,
    is_read_only,
    parse_cursor,
    queue_page,
    sees_everything,
    sla_text,
    visible_cases,
    visible_levels,
)
from escalations.selectors.search import (
    article_cases,
    article_for,
    keywords,
    knowledge_search,
    linked_articles,
    similar_open_cases,
    similar_resolved_cases,
    suggested_articles,
)
from escalations.selectors.timeline import CaseRecords, Entry, case_records, case_timeline, changes_since

__all__ = [
    "CaseRecords", "Colleague", "Entry", "PAGE_SIZE", "QueueFilters", "QueuePage", "QueueRow", "Target",
    "approvals_to_decide", "article_cases", "article_for", "awaiting_acceptance", "collaborating_rows",
    "invitees", "parse_cursor",
    "can_review", "case_for", "case_records", "case_timeline", "changes_since", "colleagues_with_capacity",
    "decidable", "escalation_targets", "filter_teams", "is_read_only", "keywords", "knowledge_search",
    "linked_articles", "queue_page", "sees_everything", "similar_open_cases", "similar_resolved_cases",
    "sla_text", "suggested_articles", "visible_cases", "visible_levels",
]
