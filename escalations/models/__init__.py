from escalations.audit.records import AuditedHistory, AuditHead, AuditSeal
from escalations.models.api import ApiToken, Scope
from escalations.models.attributes import CaseAttribute
from escalations.models.authority_change import AuthorityChange, AuthorityChangeKind, AuthorityChangeStatus
from escalations.models.automation import Notification, RuleFiring, RuleProblem, SweepHeartbeat
from escalations.models.calendars import BusinessCalendar, Holiday, WorkingRange
from escalations.models.canned import CannedReply
from escalations.models.case import Case
from escalations.models.choices import (
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
    RecipientKind,
    ReviewStatus,
    Urgency,
    WaitKind,
    priority_for,
)
from escalations.models.following import CaseWatcher
from escalations.models.intelligence import Collaboration, RiskModel, RoutingPolicy, ScoringPolicy
from escalations.models.mail import Attachment, InboundMessage, InboundOutcome, Mailbox
from escalations.models.monitoring import AlertCase, AlertDelivery, AlertRule, AlertSeverity, TeamWebhook
from escalations.models.organisation import AuthorityGrant, Category, Level, StaffProfile, Team
from escalations.models.policy import (
    EscalationPath,
    PathStep,
    SlaPolicy,
    SlaTarget,
    TriggerRule,
    validate_path_steps,
)
from escalations.models.portal import Deflection, SatisfactionSurvey
from escalations.models.preferences import FilterQueue, SavedQueueFilter
from escalations.models.records import ApprovalRequest, Escalation, KnowledgeArticle, Note, Review
from escalations.models.report_cache import ReportCache
from escalations.models.rollups import (
    AttributeRollup,
    CaseDurationRollup,
    CaseRollup,
    EntryRollup,
    HandoffRollup,
    OpenRollup,
    RaiserRollup,
    ResolvedRollup,
    RollupState,
)
from escalations.models.search import CaseSearch
from escalations.models.snapshots import PolicySnapshot
from escalations.models.sources import ImportedSource
from escalations.models.suggestions import CaseSuggestion, SuggestionDecision, TextModel
from escalations.models.waits import CaseWait

__all__ = [
    "ReportCache",
    "CaseSuggestion",
    "SuggestionDecision",
    "TextModel",
    "AttributeRollup",
    "CaseDurationRollup",
    "CaseRollup",
    "EntryRollup",
    "HandoffRollup",
    "OpenRollup",
    "RaiserRollup",
    "ResolvedRollup",
    "RollupState",
    "CaseAttribute",
    "CaseWait",
    "WaitKind",
    "CaseWatcher",
    "CannedReply",
    "ImportedSource",
    "AuthorityChange",
    "AuthorityChangeKind",
    "AuthorityChangeStatus",
    "AlertCase",
    "AlertDelivery",
    "AlertRule",
    "AlertSeverity",
    "ApiToken",
    "Scope",
    "TeamWebhook",
    "Deflection",
    "FilterQueue",
    "SavedQueueFilter",
    "SatisfactionSurvey",
    "CaseSearch",
    "PolicySnapshot",
    "Attachment",
    "InboundMessage",
    "InboundOutcome",
    "Mailbox",
    "AuditHead",
    "AuditSeal",
    "AuditedHistory",
    "Collaboration",
    "RiskModel",
    "RoutingPolicy",
    "ScoringPolicy",
    "OPEN_STATUSES",
    "ApprovalKind",
    "ApprovalRequest",
    "ApprovalStatus",
    "AuthorityGrant",
    "BusinessCalendar",
    "Case",
    "CaseStatus",
    "Category",
    "Complexity",
    "CustomerTier",
    "Escalation",
    "EscalationKind",
    "EscalationPath",
    "EscalationStatus",
    "Holiday",
    "Impact",
    "KnowledgeArticle",
    "Level",
    "Note",
    "NoteKind",
    "Notification",
    "NotificationStatus",
    "PathStep",
    "Priority",
    "RecipientKind",
    "Review",
    "ReviewStatus",
    "RuleFiring",
    "SlaPolicy",
    "SlaTarget",
    "StaffProfile",
    "RuleProblem",
    "SweepHeartbeat",
    "Team",
    "TriggerRule",
    "Urgency",
    "WorkingRange",
    "priority_for",
    "validate_path_steps",
]
