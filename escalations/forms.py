"""Forms for the staff pages. They parse and check the shape of input; the workflow
decides what is allowed and says why not, and its field errors come back onto these
forms (``DeskForm.add_workflow_error``) so every message sits beside its field."""
from __future__ import annotations

from django import forms

from .models import ApprovalKind, Category, Complexity, CustomerTier, Impact, Level, Team, Urgency
from .models.choices import CaseStatus, Priority

TEXT = {"rows": 4, "cols": 60}
MAX_TEXT = 10_000


def text(label: str, required: bool = True, help_text: str = "", rows: int = 4, max_length: int = MAX_TEXT):
    return forms.CharField(label=label, required=required, help_text=help_text, max_length=max_length,
                           widget=forms.Textarea(attrs={**TEXT, "rows": rows}))


class DeskForm(forms.Form):
    """Marks invalid fields for assistive technology and takes the workflow's errors.

    ``field_map`` renames workflow error keys to this form's fields."""

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


class VersionForm(DeskForm):
    """Carries the case version the page showed, so a stale form is detected."""

    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0, max_value=2**31 - 1,
                                 error_messages={"required": "The form lost the case version; reload the page.",
                                                 "invalid": "The form's case version is damaged; reload the page."})

    def clean(self):
        data = super().clean()
        if self.errors.get("version"):
            self.add_error(None, self.errors.pop("version"))
        return data


# -- intake ----------------------------------------------------------------------------------

class NewCaseForm(DeskForm):
    requester_name = forms.CharField(label="Requester's name", max_length=120)
    requester_email = forms.EmailField(label="Requester's e-mail", max_length=254,
                                       help_text="Updates and the resolution go to this address.")
    title = forms.CharField(label="Title", max_length=200, help_text="One line: what is wrong.")
    category = forms.ModelChoiceField(label="Category", queryset=Category.objects.order_by("name"),
                                      empty_label="Choose a category")
    impact = forms.TypedChoiceField(label="Impact", coerce=int, choices=Impact.choices, initial=Impact.MEDIUM,
                                    help_text="How many people or how much of the business is affected.")
    urgency = forms.TypedChoiceField(label="Urgency", coerce=int, choices=Urgency.choices, initial=Urgency.MEDIUM,
                                     help_text="How quickly it hurts if nothing is done.")
    complexity = forms.ChoiceField(label="Complexity", choices=Complexity.choices, initial=Complexity.MEDIUM)
    customer_tier = forms.ChoiceField(label="Customer tier", choices=CustomerTier.choices,
                                      initial=CustomerTier.STANDARD)
    description = text("Description", required=False, rows=6,
                       help_text="What the requester reported and what you checked.")


class SimilarQueryForm(DeskForm):
    """The live "similar open cases" lookup at intake."""

    title = forms.CharField(required=False, max_length=200)
    description = forms.CharField(required=False, max_length=MAX_TEXT)
    category = forms.IntegerField(required=False, min_value=1, max_value=2**62)


# -- queues ----------------------------------------------------------------------------------

class QueueFilterForm(DeskForm):
    q = forms.CharField(label="Search (#number or words)", required=False, max_length=200)
    status = forms.ChoiceField(label="Status", required=False,
                               choices=[("", "Any open status")] + list(CaseStatus.choices))
    priority = forms.TypedChoiceField(label="Priority", required=False, coerce=int, empty_value=None,
                                      choices=[("", "Any priority")] + list(Priority.choices))
    level = forms.ModelChoiceField(label="Level", required=False, queryset=Level.objects.none(),
                                   empty_label="My level", to_field_name="code")
    team = forms.ModelChoiceField(label="Team", required=False, queryset=Team.objects.none(), empty_label="Any team")
    assigned = forms.ChoiceField(label="Assigned", required=False,
                                 choices=[("", "Anyone or no one"), ("me", "To me"), ("unassigned", "Unassigned")])
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    # The cursors of the pages before this one ("~"-separated; empty is the first page),
    # so "Previous page" needs no counting either.
    back = forms.CharField(required=False, max_length=200 * 30, widget=forms.HiddenInput)

    def __init__(self, *args, levels=(), teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].queryset = Level.objects.filter(pk__in=[lv.pk for lv in levels])
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()


# -- case actions ----------------------------------------------------------------------------

class AssignForm(VersionForm):
    assignee = forms.TypedChoiceField(label="Assign to", coerce=int, choices=())

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a colleague")] + list(choices)


class NoteForm(DeskForm):
    body = text("Internal note", help_text="Only staff see internal notes.")


class PublicUpdateForm(VersionForm):
    body = text("Update to the requester", help_text="E-mailed to the requester.")


class PauseForm(VersionForm):
    reason = text("What are you waiting for from the customer?", rows=2)


class ResumeForm(VersionForm):
    reason = forms.CharField(label="What did the customer answer?", required=False, max_length=1000)


class EscalateForm(VersionForm):
    to_level = forms.ChoiceField(label="Escalate to", choices=(), required=False)
    justification = text("Justification for skipping a level", required=False, rows=2,
                         help_text="Needed only for a skip-level jump.")
    summary = text("Summary for the receiving level", rows=3)
    steps_tried = text("Steps already tried", rows=3)
    knowledge_consulted = text("Knowledge consulted", required=False, rows=2,
                               help_text="Articles, runbooks or colleagues you checked.")
    customer_impact = text("Impact on the customer", rows=2)

    def __init__(self, *args, targets=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["to_level"].choices = [(t.level.code, t.label) for t in targets]


class ReturnForm(VersionForm):
    reason = text("Why return it to the level it came from?", rows=3)


class ApprovalRequestForm(DeskForm):
    kind = forms.ChoiceField(label="Decision needed", choices=ApprovalKind.choices)
    amount = forms.DecimalField(label="Amount", required=False, max_digits=14, decimal_places=2, min_value=0,
                                help_text="For a spend approval. The authority matrix picks who may decide.")
    description = text("What needs approving and why", rows=3)


class ApprovalDecisionForm(DeskForm):
    decision = forms.ChoiceField(label="Decision", choices=[("approve", "Approve"), ("reject", "Reject")],
                                 widget=forms.RadioSelect)
    note = forms.CharField(label="Note", required=False, max_length=MAX_TEXT, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text="Required when rejecting.")


class ResolveForm(VersionForm):
    field_map = {"resolution_summary": "summary"}
    summary = text("Resolution summary", rows=4, help_text="Sent to the requester, who confirms or rejects it.")
    publish_article = forms.BooleanField(label="Also publish this as a knowledge article", required=False)


class ReasonForm(VersionForm):
    reason = text("Reason", rows=2)


class CloseForm(VersionForm):
    reason = forms.CharField(label="Reason", required=False, max_length=1000,
                             help_text="For example: the requester confirmed by phone.")


class InviteForm(DeskForm):
    """Swarming: someone to help without a handoff. Choices are "u<id>" people, "t<id>" teams."""

    collaborator = forms.ChoiceField(label="Invite", choices=())
    reason = text("Why their help is needed", rows=2)

    def __init__(self, *args, choices=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["collaborator"].choices = [("", "Choose a person or a team")] + list(choices)


class ArticleLinkForm(DeskForm):
    article = forms.IntegerField(label="Article number", min_value=1, max_value=2**62)


class ReviewForm(DeskForm):
    root_cause = text("Root cause", rows=3)
    went_well = text("What went well", required=False, rows=3)
    went_badly = text("What went badly", required=False, rows=3)
    escalation_warranted = forms.TypedChoiceField(
        label="Was the escalation warranted?", required=False, empty_value=None,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        choices=[("", "Not decided"), ("yes", "Yes"), ("no", "No: it was an over-escalation")],
    )
    prevention_actions = text("Prevention actions", required=False, rows=3)
    complete = forms.BooleanField(label="Complete the review (it can no longer be edited)", required=False)


class KnowledgeSearchForm(DeskForm):
    q = forms.CharField(label="Search the knowledge base", required=False, max_length=200)


class RequesterAnswerForm(forms.Form):
    """The requester's answer on the signed link (no account, so no DeskForm styling hooks)."""

    answer = forms.ChoiceField(choices=[("confirm", "Confirm"), ("reject", "Reject")],
                               error_messages={"required": "Choose confirm or reject.",
                                               "invalid_choice": "Choose confirm or reject."})
    reason = forms.CharField(required=False, max_length=5000)
