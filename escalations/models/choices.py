"""Enumerations shared by the models, the workflow and the forms."""

from django.db import models


class Impact(models.IntegerChoices):
    HIGH = 1, "High"
    MEDIUM = 2, "Medium"
    LOW = 3, "Low"


class Urgency(models.IntegerChoices):
    HIGH = 1, "High"
    MEDIUM = 2, "Medium"
    LOW = 3, "Low"


class Priority(models.IntegerChoices):
    CRITICAL = 1, "P1 critical"
    HIGH = 2, "P2 high"
    MODERATE = 3, "P3 moderate"
    LOW = 4, "P4 low"


class Complexity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"


class CustomerTier(models.TextChoices):
    STANDARD = "standard", "Standard"
    PREMIUM = "premium", "Premium"
    VIP = "vip", "VIP"


def priority_for(impact: int, urgency: int) -> int:
    """The impact x urgency matrix (ITIL style, the same shape as the UCI log's).

    High/High is P1; one step lower on either axis is P2; the middle is P3; the rest P4.
    """
    score = int(impact) + int(urgency)
    return {2: Priority.CRITICAL, 3: Priority.HIGH, 4: Priority.MODERATE}.get(score, Priority.LOW)


class CaseStatus(models.TextChoices):
    NEW = "new", "New"
    IN_PROGRESS = "in_progress", "In progress"
    AWAITING_CUSTOMER = "awaiting_customer", "Awaiting customer"
    ESCALATED = "escalated", "Escalated (awaiting acceptance)"
    RESOLVED = "resolved", "Resolved"
    CLOSED = "closed", "Closed"


OPEN_STATUSES = (
    CaseStatus.NEW,
    CaseStatus.IN_PROGRESS,
    CaseStatus.AWAITING_CUSTOMER,
    CaseStatus.ESCALATED,
)


class EscalationKind(models.TextChoices):
    ESCALATE = "escalate", "Escalation to the next step"
    JUMP = "jump", "Skip-level jump"
    DE_ESCALATE = "de_escalate", "De-escalation"


class EscalationStatus(models.TextChoices):
    PENDING = "pending", "Awaiting acceptance"
    ACCEPTED = "accepted", "Accepted"
    RETURNED = "returned", "Returned"


class ApprovalKind(models.TextChoices):
    SPEND = "spend", "Spend"
    POLICY_EXCEPTION = "policy_exception", "Policy exception"
    MAJOR_INCIDENT = "major_incident", "Major-incident declaration"


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    APPROVED = "approved", "Approved"
    REJECTED = "rejected", "Rejected"
    CANCELLED = "cancelled", "Cancelled"


class ReviewStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    COMPLETED = "completed", "Completed"


class WaitKind(models.TextChoices):
    """What a case waits on. Only the customer stops the customer's SLA clock (a pause);
    the other waits are recorded and reported while the clock runs."""

    CUSTOMER = "customer", "The customer"
    VENDOR = "vendor", "A vendor or supplier"
    INTERNAL = "internal", "Another team or a change window"
    OTHER = "other", "Something else"


class NoteKind(models.TextChoices):
    INTERNAL = "internal", "Internal note"
    PUBLIC = "public", "Public update to the requester"
    CUSTOMER = "customer", "Message from the requester"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class RecipientKind(models.TextChoices):
    """Who a rule's notice goes to, resolved against the case when it fires."""

    ASSIGNEE = "assignee", "Assignee"
    TEAM = "team", "Team"
    TEAM_MANAGER = "team_manager", "Team manager"
    NEXT_LEVEL = "next_level", "Next level"
    WATCHERS = "watchers", "Watchers"
    REQUESTER = "requester", "Requester"
