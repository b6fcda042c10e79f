"""Forms of the staff pages that are not actions: queue filters, searches, the intake's
similar-case lookup and the requester's answer. Action forms are ``actions.forms``."""

from __future__ import annotations

from django import forms

from escalations.actions.forms import MAX_TEXT, DeskForm
from escalations.models import Level, Team
from escalations.models.choices import CaseStatus, Priority
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
