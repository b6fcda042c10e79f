"""The input forms of the actions in the catalogue. They parse and check the shape of
input; ``arguments()`` turns what they cleaned into the keyword arguments of the
action's workflow function. The workflow decides what is allowed and says why not, and
its field errors come back onto these forms (``DeskForm.add_workflow_error``) so every
message sits beside its field. The staff pages, the admin and the API use the same forms."""

from __future__ import annotations

from django import forms
from django.conf import settings

from escalations.models import (
    ApprovalKind,
    AuthorityChangeKind,
    Category,
    Complexity,
    CustomerTier,
    Impact,
    Level,
    StaffProfile,
    Urgency,
    WaitKind,
)
from escalations.workflow import Handoff, IncomingFile

TEXT = {"rows": 4, "cols": 60}
MAX_TEXT = 10_000


def text(
    label: str, required: bool = True, help_text: str = "", rows: int = 4, max_length: int = MAX_TEXT, missing: str = ""
):
    """A text area; ``missing`` says what to write when it is left empty (the workflow's words)."""
    errors = {"required": missing} if missing else None
    return forms.CharField(
        label=label,
        required=required,
        help_text=help_text,
        max_length=max_length,
        widget=forms.Textarea(attrs={**TEXT, "rows": rows}),
        error_messages=errors,
    )


class DeskForm(forms.Form):
    """Marks invalid fields for assistive technology and takes the workflow's errors.

    ``field_map`` renames workflow error keys to this form's fields; ``arguments()``
    gives the workflow function its keywords (by default, every cleaned field)."""

    field_map: dict[str, str] = {}

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in list(self._errors or {}):
            if name in self.fields:
                bound = self[name]
                described = [f"{bound.auto_id}_errors"] + ([f"{bound.auto_id}_helptext"] if bound.help_text else [])
                self.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": " ".join(described)})

    def add_workflow_error(self, exc) -> None:
        placed = False
        for key, message in (exc.errors or {}).items():
            name = self.field_map.get(key, key)
            if name in self.fields and name not in ("version",):
                self.add_error(name, message)
                placed = True
        if not placed:
            self.add_error(None, exc.message)

    def arguments(self) -> dict:
        return dict(self.cleaned_data)


class VersionForm(DeskForm):
    """Carries the case version the page showed, so a stale form is detected."""

    version = forms.IntegerField(
        widget=forms.HiddenInput,
        min_value=0,
        max_value=2**31 - 1,
        error_messages={
            "required": "The form lost the case version; reload the page.",
            "invalid": "The form's case version is damaged; reload the page.",
        },
    )

    def clean(self):
        data = super().clean()
        if self.errors.get("version"):
            self.add_error(None, self.errors.pop("version"))
        return data


# -- intake ----------------------------------------------------------------------------------


class NewCaseForm(DeskForm):
    requester_name = forms.CharField(label="Requester's name", max_length=120)
    requester_email = forms.EmailField(
        label="Requester's e-mail", max_length=254, help_text="Updates and the resolution go to this address."
    )
    title = forms.CharField(label="Title", max_length=200, help_text="One line: what is wrong.")
    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.order_by("name"), empty_label="Choose a category"
    )
    impact = forms.TypedChoiceField(
        label="Impact",
        coerce=int,
        choices=Impact.choices,
        initial=Impact.MEDIUM,
        help_text="How many people or how much of the business is affected.",
    )
    urgency = forms.TypedChoiceField(
        label="Urgency",
        coerce=int,
        choices=Urgency.choices,
        initial=Urgency.MEDIUM,
        help_text="How quickly it hurts if nothing is done.",
    )
    complexity = forms.ChoiceField(label="Complexity", choices=Complexity.choices, initial=Complexity.MEDIUM)
    customer_tier = forms.ChoiceField(
        label="Customer tier", choices=CustomerTier.choices, initial=CustomerTier.STANDARD
    )
    description = text(
        "Description", required=False, rows=6, help_text="What the requester reported and what you checked."
    )
    # Set by the intake page when it showed the text model's suggestion: the choice above is its verdict.
    suggestion_shown = forms.BooleanField(required=False, widget=forms.HiddenInput)


class RequesterCaseForm(DeskForm):
    """A request from the requester themselves (the mail channel today, the portal and the API
    later): no impact, urgency or tier to choose, the text is their first message."""

    requester_name = forms.CharField(label="Your name", max_length=120)
    requester_email = forms.EmailField(label="Your e-mail", max_length=254)
    title = forms.CharField(label="Subject", max_length=200)
    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.order_by("name"), empty_label="Choose a category"
    )
    body = text("Your message", missing="Write your message.")


class RequesterMessageForm(DeskForm):
    """The requester writes to their case (files come from the channel, not from this form)."""

    sender = forms.EmailField(label="Your e-mail", max_length=254)
    body = text("Your message", missing="Write your message.")


class PortalLinkForm(DeskForm):
    """The portal's sign-in: an address to mail a link to (no password)."""

    email = forms.EmailField(label="Your e-mail address", max_length=254)


class PortalRequestForm(DeskForm):
    """A new request in the portal: the address comes from the portal's sign-in."""

    requester_name = forms.CharField(label="Your name", max_length=120)
    title = forms.CharField(label="Subject", max_length=200, help_text="One line: what is wrong.")
    category = forms.ModelChoiceField(
        label="What is it about?", queryset=Category.objects.order_by("name"), empty_label="Choose a topic"
    )
    body = text("Describe the problem", missing="Describe the problem.", rows=6)


class PortalMessageForm(DeskForm):
    """The requester writes to their case in the portal (files come with the request)."""

    body = text("Your message", missing="Write your message.")


class DeflectionForm(DeskForm):
    """“This solved it” under a suggested article."""

    article_id = forms.IntegerField(widget=forms.HiddenInput, min_value=1, max_value=2**63 - 1)
    query = forms.CharField(widget=forms.HiddenInput, required=False, max_length=500)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False, widget=forms.HiddenInput)


class PortalSuggestForm(DeskForm):
    """What the requester has typed so far: the portal's live article suggestions."""

    title = forms.CharField(required=False, max_length=200)
    body = forms.CharField(required=False, max_length=MAX_TEXT)
    category = forms.ModelChoiceField(queryset=Category.objects.all(), required=False)


class SurveyForm(DeskForm):
    score = forms.TypedChoiceField(
        label="How satisfied are you with how we handled your request?",
        coerce=int,
        choices=[(5, "5 — very satisfied"), (4, "4"), (3, "3"), (2, "2"), (1, "1 — very unhappy")],
        widget=forms.RadioSelect,
        error_messages={"required": "Choose a score from 1 to 5.", "invalid_choice": "Choose a score from 1 to 5."},
    )
    comment = text("Anything you want to tell us? (optional)", required=False, rows=3, max_length=5000)


# -- case actions ----------------------------------------------------------------------------


class AssignForm(VersionForm):
    assignee = forms.TypedChoiceField(label="Assign to", coerce=int, choices=())

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a colleague")] + list(choices)

    def arguments(self) -> dict:
        return {"assignee_id": self.cleaned_data["assignee"], "version": self.cleaned_data["version"]}


MAX_FILES = 10


class MultipleFileInput(forms.FileInput):
    allow_multiple_selected = True


class FilesField(forms.FileField):
    """Several files in one input; each is refused by its size before it is read (the type
    and the virus-scan hook are the workflow's checks, the same for every channel)."""

    widget = MultipleFileInput

    def __init__(self, **kwargs):
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        items = [d for d in (data if isinstance(data, (list, tuple)) else [data]) if d]
        if len(items) > MAX_FILES:
            raise forms.ValidationError(f"At most {MAX_FILES} files at once.")
        limit = settings.ATTACHMENT_MAX_BYTES
        for item in items:
            if getattr(item, "size", 0) > limit:
                raise forms.ValidationError(
                    f"The file {item.name!r} is too large: {item.size:,} bytes; the limit is {limit:,} bytes."
                )
        return [super(FilesField, self).clean(item, initial) for item in items]


def files_field(label: str) -> FilesField:
    return FilesField(
        label=label,
        help_text=f"Optional; up to {MAX_FILES} files of at most {settings.ATTACHMENT_MAX_BYTES // 1048576} MB each.",
    )


class AttachmentsMixin:
    """Gives the workflow function the uploaded files as ``files``."""

    def arguments(self) -> dict:
        args = super().arguments()
        uploads = args.pop("attachments", None) or []
        args["files"] = [
            IncomingFile(f.name[:200], f.content_type or "application/octet-stream", f.read()) for f in uploads
        ]
        return args


class NoteForm(AttachmentsMixin, DeskForm):
    body = text("Internal note", help_text="Only staff see internal notes.", missing="Write the note.")
    attachments = files_field("Files (staff only)")


class PublicUpdateForm(AttachmentsMixin, VersionForm):
    """``canned``: a canned reply to insert into the text (the "Insert the reply" button
    re-renders the form with it; sending ignores it)."""

    canned = forms.TypedChoiceField(label="Canned reply", required=False, coerce=int, empty_value=None, choices=())
    body = text("Update to the requester", help_text="E-mailed to the requester.", missing="Write the update.")
    attachments = files_field("Files (e-mailed with the update, shown in the portal)")

    def __init__(self, *args, replies=(), **kwargs):
        super().__init__(*args, **kwargs)
        if replies:
            self.fields["canned"].choices = [("", "Choose a canned reply")] + [(r.pk, str(r)) for r in replies]
        else:
            del self.fields["canned"]

    def arguments(self) -> dict:
        args = super().arguments()
        args.pop("canned", None)
        return args


class RecordContactForm(VersionForm):
    note = text(
        "What did you discuss with the customer by phone?",
        rows=3,
        help_text="Recorded as a note; the first contact with the customer is the SLA's first response.",
        missing="Say what you discussed with the customer.",
    )


class ChangePriorityForm(VersionForm):
    priority = forms.TypedChoiceField(
        label="New priority",
        coerce=int,
        choices=[(1, "P1 critical"), (2, "P2 high"), (3, "P3 moderate"), (4, "P4 low")],
        error_messages={"required": "Choose the new priority.", "invalid_choice": "Choose P1, P2, P3 or P4."},
    )
    reason = text(
        "Why does the priority change?",
        rows=2,
        help_text="The customer's SLA is recomputed from now with the new priority's targets.",
        missing="Say why the priority changes.",
    )


class ClassifyForm(VersionForm):
    """Accept or change the text model's suggestion (a case from e-mail, the portal or the
    API): the fields start at the suggestion; submitting them unchanged accepts it."""

    category = forms.ModelChoiceField(
        label="Category", queryset=Category.objects.order_by("name"), empty_label="Choose a category"
    )
    priority = forms.TypedChoiceField(
        label="Priority",
        coerce=int,
        choices=[(1, "P1 critical"), (2, "P2 high"), (3, "P3 moderate"), (4, "P4 low")],
        error_messages={"required": "Choose the priority.", "invalid_choice": "Choose P1, P2, P3 or P4."},
    )

    def __init__(self, *args, suggestion=None, **kwargs):
        super().__init__(*args, **kwargs)
        if suggestion is not None:
            self.fields["category"].initial = suggestion.category_id or suggestion.case.category_id
            self.fields["priority"].initial = suggestion.priority or suggestion.case.priority
            self.fields["category"].help_text = suggestion_help(suggestion, "category")
            self.fields["priority"].help_text = suggestion_help(suggestion, "priority")


def suggestion_help(suggestion, target: str) -> str:
    confidence = getattr(suggestion, f"{target}_confidence")
    if confidence is None:
        return "No suggestion for this field."
    words = ", ".join(suggestion.words.get(target, [])) or "-"
    return f"Suggested with {round(100 * confidence)} % confidence; the words that weighed most: {words}."


class PauseForm(VersionForm):
    waiting_for = forms.ChoiceField(
        label="Waiting on",
        choices=[(k.value, k.label) for k in WaitKind if k != WaitKind.OTHER],
        initial=WaitKind.CUSTOMER,
        required=False,
        help_text="Only a wait on the customer pauses the SLA clock; the others are recorded and the clock runs.",
    )
    reason = text("What are you waiting for?", rows=2, missing="Say what you are waiting for.")

    def arguments(self) -> dict:
        return {**super().arguments(), "waiting_for": self.cleaned_data.get("waiting_for") or WaitKind.CUSTOMER}


class ResumeForm(VersionForm):
    reason = forms.CharField(label="What came back?", required=False, max_length=1000)

    def arguments(self) -> dict:
        return {"reason": self.cleaned_data["reason"] or "Customer answered", "version": self.cleaned_data["version"]}


class EscalateForm(VersionForm):
    to_level = forms.ChoiceField(label="Escalate to", choices=(), required=False)
    justification = text(
        "Justification for skipping a level", required=False, rows=2, help_text="Needed only for a skip-level jump."
    )
    summary = text("Summary for the receiving level", rows=3, missing="Summarise the case for the receiving level.")
    steps_tried = text("Steps already tried", rows=3, missing="Say what was tried already.")
    knowledge_consulted = text(
        "Knowledge consulted", required=False, rows=2, help_text="Articles, runbooks or colleagues you checked."
    )
    customer_impact = text("Impact on the customer", rows=2, missing="Describe the impact on the customer.")

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].choices = [(t.level.code, t.label) for t in targets]

    def clean(self):
        data = super().clean()
        missing = [
            self.fields[f].error_messages["required"]
            for f in ("summary", "steps_tried", "customer_impact")
            if f in self.errors
        ]
        if missing:  # the same summary the workflow gives (``Handoff.validate``)
            self.add_error(None, "The handoff is incomplete: " + " ".join(str(m) for m in missing))
        return data

    def arguments(self) -> dict:
        d = self.cleaned_data
        handoff = Handoff(
            summary=d["summary"],
            steps_tried=d["steps_tried"],
            customer_impact=d["customer_impact"],
            knowledge_consulted=d["knowledge_consulted"],
        )
        return {
            "handoff": handoff,
            "to_level_code": d["to_level"] or None,
            "justification": d["justification"],
            "version": d["version"],
        }


class ReturnForm(VersionForm):
    reason = text("Why return it to the level it came from?", rows=3, missing="Say why the escalation is returned.")


class DeEscalateForm(VersionForm):
    to_level = forms.ChoiceField(label="Hand it down to", choices=(), required=False)
    reason = text("Why does the case go back down?", rows=3, missing="Say why the case goes back down.")

    def __init__(self, *args, levels=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].choices = [("", "The previous step of the path")] + [
            (lv.code, f"{lv.code} - {lv.name}") for lv in levels
        ]

    def arguments(self) -> dict:
        d = self.cleaned_data
        return {"reason": d["reason"], "to_level_code": d["to_level"] or None, "version": d["version"]}


class ApprovalRequestForm(DeskForm):
    kind = forms.ChoiceField(label="Decision needed", choices=ApprovalKind.choices)
    amount = forms.DecimalField(
        label="Amount",
        required=False,
        max_digits=14,
        decimal_places=2,
        min_value=0,
        help_text="For a spend approval. The authority matrix picks who may decide.",
    )
    description = text("What needs approving and why", rows=3)


class ApprovalDecisionForm(DeskForm):
    decision = forms.ChoiceField(
        label="Decision", choices=[("approve", "Approve"), ("reject", "Reject")], widget=forms.RadioSelect
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=MAX_TEXT,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when rejecting.",
    )

    def arguments(self) -> dict:
        return {"approve": self.cleaned_data["decision"] == "approve", "note": self.cleaned_data["note"]}


class WithdrawApprovalForm(DeskForm):
    reason = text("Why you withdraw the request", rows=2)


class FollowForm(DeskForm):
    """Nothing to type: following changes no case field, so it carries no version."""


class ResolveForm(VersionForm):
    field_map = {"resolution_summary": "summary"}
    summary = text(
        "Resolution summary",
        rows=4,
        help_text="Sent to the requester, who confirms or rejects it.",
        missing="Say how the case was resolved.",
    )
    publish_article = forms.BooleanField(label="Also publish this as a knowledge article", required=False)


class ReasonForm(VersionForm):
    reason = text("Reason", rows=2)


class CloseForm(VersionForm):
    reason = forms.CharField(
        label="Reason", required=False, max_length=1000, help_text="For example: the requester confirmed by phone."
    )

    def arguments(self) -> dict:
        return {"reason": self.cleaned_data["reason"] or "Closed by staff", "version": self.cleaned_data["version"]}


class InviteForm(DeskForm):
    """Swarming: someone to help without a handoff. Choices are "u<id>" people, "t<id>" teams."""

    collaborator = forms.ChoiceField(label="Invite", choices=())
    reason = text("Why their help is needed", rows=2)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collaborator"].choices = [("", "Choose a person or a team")] + list(choices)

    def arguments(self) -> dict:
        kind, pk = self.cleaned_data["collaborator"][0], int(self.cleaned_data["collaborator"][1:])
        return {"reason": self.cleaned_data["reason"], **({"user_id": pk} if kind == "u" else {"team_id": pk})}


class EndCollaborationForm(DeskForm):
    reason = forms.CharField(label="Reason", required=False, max_length=1000)


class ArticleLinkForm(DeskForm):
    article = forms.IntegerField(label="Article number", min_value=1, max_value=2**62)
    linked = forms.TypedChoiceField(
        coerce=lambda v: v == "1",
        choices=[("1", "Link"), ("0", "Unlink")],
        initial="1",
        required=False,
        empty_value=True,
        widget=forms.HiddenInput,
    )

    def arguments(self) -> dict:
        return {"article_id": self.cleaned_data["article"], "linked": self.cleaned_data["linked"]}


class ReviewForm(DeskForm):
    root_cause = text("Root cause", rows=3)
    went_well = text("What went well", required=False, rows=3)
    went_badly = text("What went badly", required=False, rows=3)
    escalation_warranted = forms.TypedChoiceField(
        label="Was the escalation warranted?",
        required=False,
        empty_value=None,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        choices=[("", "Not decided"), ("yes", "Yes"), ("no", "No: it was an over-escalation")],
    )
    prevention_actions = text("Prevention actions", required=False, rows=3)
    complete = forms.BooleanField(label="Complete the review (it can no longer be edited)", required=False)


class AuthorityChangeForm(DeskForm):
    """A four-eyes proposal: what changes; a second manager approves it before it applies."""

    what = forms.ChoiceField(label="What changes", choices=AuthorityChangeKind.choices)
    profile = forms.ModelChoiceField(
        label="Staff member",
        required=False,
        queryset=StaffProfile.objects.select_related("user", "level").order_by("user__username"),
        help_text="For a staff member's level.",
    )
    level = forms.ModelChoiceField(
        label="Level",
        queryset=Level.objects.order_by("rank"),
        help_text="The new level, or the level whose grant or rank changes.",
    )
    kind = forms.ChoiceField(label="Kind of approval", required=False, choices=[("", "-")] + ApprovalKind.choices)
    limit = forms.DecimalField(
        label="Limit",
        required=False,
        min_value=0,
        max_digits=14,
        decimal_places=2,
        help_text="For a grant: the highest amount; blank means no limit.",
    )
    rank = forms.IntegerField(label="New rank", required=False, min_value=1, max_value=999)
    reason = text("Why", rows=2)
