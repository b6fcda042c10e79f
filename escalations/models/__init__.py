from .audit import AuditedHistory, AuditHead, AuditSeal
from .automation import Notification, RuleFiring, SweepHeartbeat
from .calendars import BusinessCalendar, Holiday, WorkingRange
from .case import Case
from .choices import (
    OPEN_STATUSES,
    ApprovalKind,
    ApprovalStatus,
    CaseStatus,
    Complexity,
    CustomerTier,
    EscalationKind,
    EscalationStatus,
    Impact,
    NoteKind,
    NotificationStatus,
    Priority,
    ReviewStatus,
    Urgency,
    priority_for,
)
from .intelligence import Collaboration, RiskModel, RoutingPolicy, ScoringPolicy
from .organisation import AuthorityGrant, Category, Level, StaffProfile, Team
from .policy import EscalationPath, PathStep, SlaPolicy, SlaTarget, TriggerRule, validate_path_steps
from .records import ApprovalRequest, Escalation, KnowledgeArticle, Note, Review

__all__ = [
    "AuditHead", "AuditSeal", "AuditedHistory", "Collaboration", "RiskModel", "RoutingPolicy", "ScoringPolicy",
    "OPEN_STATUSES", "ApprovalKind", "ApprovalRequest", "ApprovalStatus", "AuthorityGrant",
    "BusinessCalendar", "Case", "CaseStatus", "Category", "Complexity", "CustomerTier",
    "Escalation", "EscalationKind", "EscalationPath", "EscalationStatus", "Holiday", "Impact",
    "KnowledgeArticle", "Level", "Note", "NoteKind", "Notification", "NotificationStatus",
    "PathStep", "Priority", "Review", "ReviewStatus", "RuleFiring", "SlaPolicy", "SlaTarget",
    "StaffProfile", "SweepHeartbeat", "Team", "TriggerRule", "Urgency", "WorkingRange",
    "priority_for", "validate_path_steps",
]
