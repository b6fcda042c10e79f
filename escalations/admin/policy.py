"""What managers configure: SLA policies, escalation paths and trigger rules.

Each form explains a mistake in words before it can reach the sweep, where a bad
rule would otherwise fail for every case it looks at."""

from __future__ import annotations

from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError

from escalations.admin.base import HistoryAdmin, ScopedChoicesMixin
from escalations.models import (
    EscalationPath,
    PathStep,
    RecipientKind,
    SlaPolicy,
    SlaTarget,
    TriggerRule,
    validate_path_steps,
)

SNAPSHOT_NOTE = (
    "Running cases keep the policy frozen into them when they were opened; "
    "changes here apply to cases opened from now on."
)


class SlaTargetInline(ScopedChoicesMixin, admin.TabularInline):
    model = SlaTarget
    extra = 0


class SlaPolicyForm(forms.ModelForm):
    class Meta:
        model = SlaPolicy
        fields = ["name", "calendar", "is_default"]

    def clean_is_default(self):
        value = self.cleaned_data["is_default"]
        if value:
            other = SlaPolicy.objects.filter(is_default=True).exclude(pk=self.instance.pk).first()
            if other is not None:
                raise ValidationError(f"'{other}' is the default policy; untick it there first (there is one default).")
        return value


@admin.register(SlaPolicy)
class SlaPolicyAdmin(HistoryAdmin):
    form = SlaPolicyForm
    list_display = ["name", "calendar", "is_default"]
    list_select_related = ["calendar"]
    search_fields = ["name"]
    inlines = [SlaTargetInline]
    fieldsets = [(None, {"fields": ["name", "calendar", "is_default"], "description": SNAPSHOT_NOTE})]


class PathStepFormSet(forms.BaseInlineFormSet):
    """Steps are numbered once each and climb the ladder (``validate_path_steps``)."""

    def clean(self):
        steps, seen, problems = [], {}, []
        for form in self.forms:
            data = getattr(form, "cleaned_data", None)
            if not data or data.get("DELETE") or form.errors:
                continue
            order, level = data.get("order"), data.get("level")
            if order is None or level is None:
                continue
            if order in seen:
                problems.append(
                    f"Two steps have order {order} ({seen[order].code} and {level.code}); "
                    "give each step its own position."
                )
            seen[order] = level
            steps.append((order, level))
        if problems:
            raise ValidationError(problems)
        validate_path_steps(steps)
        super().clean()


class PathStepInline(ScopedChoicesMixin, admin.TabularInline):
    model = PathStep
    formset = PathStepFormSet
    extra = 0
    ordering = ["order"]


@admin.register(EscalationPath)
class EscalationPathAdmin(HistoryAdmin):
    list_display = ["name", "category"]
    list_select_related = ["category"]
    search_fields = ["name", "category__name"]
    inlines = [PathStepInline]


class TriggerRuleForm(forms.ModelForm):
    recipients = forms.MultipleChoiceField(
        choices=RecipientKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For notify: who gets the message.",
    )

    class Meta:
        model = TriggerRule
        fields = [
            "name",
            "order",
            "is_active",
            "level",
            "condition",
            "params",
            "action",
            "recipients",
            "target_level",
            "stop_processing",
            "repeat_every",
        ]

    def clean_params(self):
        """Blank means no parameters; what they must say is the model's to check."""
        params = self.cleaned_data.get("params")
        return {} if params in (None, "") else params


@admin.register(TriggerRule)
class TriggerRuleAdmin(HistoryAdmin):
    form = TriggerRuleForm
    list_display = ["order", "name", "is_active", "level", "condition", "action", "stop_processing"]
    list_display_links = ["name"]
    list_filter = ["is_active", "condition", "action", "level"]
    list_select_related = ["level"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "order", "is_active", "level"]}),
        ("When", {"fields": ["condition", "params"]}),
        ("Then", {"fields": ["action", "recipients", "target_level", "stop_processing", "repeat_every"]}),
    ]
