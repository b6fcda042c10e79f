"""Forms of the staff pages that are not actions: queue filters, searches, the intake's
similar-case lookup and the requester's answer. Action forms are ``actions.forms``."""

from __future__ import annotations

import re

from django import forms

from escalations.actions.bulk import MAX_CASES
from escalations.actions.forms import MAX_TEXT, DeskForm
from escalations.core.bounds import MAX_ID
from escalations.models import FilterQueue, Level, Team
from escalations.models.choices import CaseStatus, Priority
from escalations.models.preferences import NAME_MAX, QUERY_MAX
from escalations.selectors.cases import parse_cursor


class SimilarQueryForm(DeskForm):
    """The live "similar open cases" lookup at intake."""

    title = forms.CharField(required=False, max_length=200)
    description = forms.CharField(required=False, max_length=MAX_TEXT)
    category = forms.IntegerField(required=False, min_value=1, max_value=2**62)


# -- queues ----------------------------------------------------------------------------------


class QueueFilterForm(DeskForm):
    q = forms.CharField(label="Search (#number or words)", required=False, max_length=200)
    status = forms.ChoiceField(
        label="Status", required=False, choices=[("", "Any open status")] + list(CaseStatus.choices)
    )
    priority = forms.TypedChoiceField(
        label="Priority",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "Any priority")] + list(Priority.choices),
    )
    level = forms.ModelChoiceField(
        label="Level", required=False, queryset=Level.objects.none(), empty_label="My level", to_field_name="code"
    )
    team = forms.ModelChoiceField(label="Team", required=False, queryset=Team.objects.none(), empty_label="Any team")
    assigned = forms.ChoiceField(
        label="Assigned",
        required=False,
        choices=[("", "Anyone or no one"), ("me", "To me"), ("unassigned", "Unassigned")],
    )
    cursor = forms.CharField(required=False, max_length=200, widget=forms.HiddenInput)
    # The cursors of the pages before this one ("~"-separated; empty is the first page),
    # so "Previous page" needs no counting either.
    back = forms.CharField(required=False, max_length=200 * 30, widget=forms.HiddenInput)

    def __init__(self, *args, levels=(), teams=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["level"].queryset = Level.objects.filter(pk__in=[lv.pk for lv in levels])
        self.fields["team"].queryset = teams if teams is not None else Team.objects.none()

    def clean_cursor(self) -> str:
        cursor = self.cleaned_data["cursor"]
        if cursor and parse_cursor(cursor) is None:
            # Shown above the filters (the cursor is a hidden field); the first page is shown.
            self.add_error(None, "This page link is damaged; start again from the first page.")
            return ""
        return cursor


class KnowledgeSearchForm(DeskForm):
    q = forms.CharField(label="Search the knowledge base", required=False, max_length=200)


class RequesterAnswerForm(forms.Form):
    """The requester's answer on the signed link (no account, so no DeskForm styling hooks)."""

    answer = forms.ChoiceField(
        choices=[("confirm", "Confirm"), ("reject", "Reject")],
        error_messages={"required": "Choose confirm or reject.", "invalid_choice": "Choose confirm or reject."},
    )
    reason = forms.CharField(required=False, max_length=5000)


# -- queue tools: live updates, bulk actions, saved filters -----------------------------------


class LiveQueueForm(QueueFilterForm):
    """The live poll of a queue: the page's own filters and page, and the mark (the newest
    case number when the page was opened). Anything out of bounds is a 400."""

    mark = forms.IntegerField(min_value=0, max_value=MAX_ID)


class FollowingLiveForm(DeskForm):
    """The live poll of Collaborating and Following (no filters)."""

    mark = forms.IntegerField(min_value=0, max_value=MAX_ID)


CASE_VERSION = re.compile(r"(\d{1,19}):(\d{1,10})")


class CaseVersionsField(forms.Field):
    """Checked queue rows, each ``<case id>:<version shown>``; at most ``MAX_CASES``."""

    widget = forms.MultipleHiddenInput

    def __init__(self, *, limit: int, **kwargs):
        self.limit = limit
        super().__init__(**kwargs)

    def to_python(self, value) -> list[tuple[int, int]]:
        values = value if isinstance(value, (list, tuple)) else ([value] if value else [])
        if len(values) > self.limit:
            raise forms.ValidationError(f"Choose at most {self.limit} cases at once.")
        items, seen = [], set()
        for raw in values:
            match = CASE_VERSION.fullmatch(str(raw))
            pk, version = (int(match.group(1)), int(match.group(2))) if match else (0, 0)
            if not (0 < pk <= MAX_ID and 0 <= version < 2**31):
                raise forms.ValidationError("A selected row is damaged; reload the queue and choose again.")
            if pk not in seen:
                seen.add(pk)
                items.append((pk, version))
        return items

    def validate(self, value) -> None:
        if not value:
            raise forms.ValidationError("Choose at least one case.")


class BulkActionForm(DeskForm):
    action = forms.ChoiceField(
        choices=[("take", "Take"), ("assign", "Assign"), ("note", "Add a note"), ("follow", "Follow")],
        error_messages={"required": "Choose an action.", "invalid_choice": "Choose take, assign, note or follow."},
    )
    case = CaseVersionsField(limit=MAX_CASES)
    assignee = forms.TypedChoiceField(label="Assign to", coerce=int, required=False, choices=())
    body = forms.CharField(label="Internal note", required=False, max_length=MAX_TEXT, widget=forms.Textarea)
    next = forms.CharField(required=False, max_length=2000)

    def __init__(self, *args, assignees=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["assignee"].choices = [("", "Choose a colleague")] + list(assignees)

    def clean(self):
        data = super().clean()
        if data.get("action") == "assign" and not data.get("assignee"):
            self.add_error("assignee", "Choose whom to assign the cases to.")
        if data.get("action") == "note" and not (data.get("body") or "").strip():
            self.add_error("body", "Write the note.")
        return data

    def fields_for_action(self) -> dict:
        """The action form's fields, as its data."""
        action = self.cleaned_data["action"]
        if action == "assign":
            return {"assignee": self.cleaned_data["assignee"]}
        if action == "note":
            return {"body": self.cleaned_data["body"]}
        return {}


class SaveFilterForm(DeskForm):
    queue = forms.ChoiceField(choices=FilterQueue.choices)
    name = forms.CharField(label="Save the current filter as", max_length=NAME_MAX)
    query = forms.CharField(required=False, max_length=QUERY_MAX)
