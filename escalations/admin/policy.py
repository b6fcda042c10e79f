"""What managers configure: SLA policies, escalation paths and trigger rules.

Each form explains a mistake in words before it can reach the sweep, where a bad
rule would otherwise fail for every case it looks at."""

from __future__ import annotations

from datetime import timedelta

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.urls import reverse
from django.utils.html import format_html

from escalations.admin.base import HistoryAdmin, ReadOnlyInline, ScopedChoicesMixin
from escalations.admin.fields import DurationText, duration_overrides
from escalations.core.durations import format_duration
from escalations.models import (
    EscalationPath,
    PathStep,
    RecipientKind,
    RuleProblem,
    SlaPolicy,
    SlaTarget,
    TriggerRule,
    validate_path_steps,
)
from escalations.models.choices import Complexity, CustomerTier, Impact, Priority
from escalations.models.policy import (
    COUNT_MAX,
    MINUTES_MAX,
    ORDER_MAX,
    PERCENT_MAX,
    REPEAT_MAX,
    REPEAT_MIN,
    TARGET_MAX,
    condition_problem,
)

SNAPSHOT_NOTE = (
    "Running cases keep the policy frozen into them when they were opened; "
    "changes here apply to cases opened from now on."
)


class SlaTargetInline(ScopedChoicesMixin, admin.TabularInline):
    model = SlaTarget
    extra = 0
    formfield_overrides = duration_overrides(max_value=TARGET_MAX)


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

    def changelist_view(self, request, extra_context=None):
        link_whatif(request)
        return super().changelist_view(request, extra_context)


def link_whatif(request) -> None:
    """The policies and the rules point to the what-if, where a draft is tried first."""
    if request.method == "GET" and request.user.has_perm("escalations.manage_desk"):
        messages.info(
            request,
            format_html(
                'Try a draft before activating it: <a href="{}">policy what-if</a> replays past cases under it '
                "and shows it beside the current setup.",
                reverse("admin:escalations_scoringpolicy_whatif"),
            ),
        )


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


TR = TriggerRule.Condition
# condition -> the form fields it reads, and how they become the stored params
PARAM_FIELDS = {
    TR.SLA_PERCENT: ("target", "percent"),
    TR.PRIORITY: ("priority_at_most",),
    TR.IMPACT: ("impact_at_most",),
    TR.COMPLEXITY: ("complexity_in",),
    TR.CUSTOMER_TIER: ("tier_in",),
    TR.REASSIGNMENTS: ("at_least",),
    TR.REOPENS: ("at_least",),
    TR.NO_RESPONSE: ("minutes",),
    TR.BREACH_RISK: ("risk_at_least",),
    TR.ESCALATION_RISK: ("risk_at_least",),
}
PARAM_KEYS = {
    "target": "target",
    "percent": "percent",
    "priority_at_most": "at_most",
    "impact_at_most": "at_most",
    "complexity_in": "in",
    "tier_in": "in",
    "at_least": "at_least",
    "minutes": "minutes",
    "risk_at_least": "at_least",
}
# The "and also" fields: each becomes one entry of the rule's ``"and"`` list. Entries the
# form cannot show (a second % condition, a complexity set by import) are kept as stored.
AND_FIELDS = {
    TR.BREACH_RISK: ("and_breach_risk",),
    TR.ESCALATION_RISK: ("and_escalation_risk",),
    TR.SLA_PERCENT: ("and_target", "and_percent"),
    TR.PRIORITY: ("and_priority_at_most",),
    TR.CUSTOMER_TIER: ("and_tier_in",),
}
AND_KEYS = {
    "and_breach_risk": "at_least",
    "and_escalation_risk": "at_least",
    "and_target": "target",
    "and_percent": "percent",
    "and_priority_at_most": "at_most",
    "and_tier_in": "in",
}


def _risk_field(label: str) -> forms.FloatField:
    return forms.FloatField(
        label=label,
        min_value=0.01,
        max_value=1,
        required=False,
        help_text="A probability from 0.01 to 1 (0.6 = six cases in ten predicted to go that way); "
        "cases not scored yet do not match.",
    )


class TriggerRuleForm(forms.ModelForm):
    """A rule without JSON: one field per parameter, shown for the condition that reads it
    (the admin's JS hides the others; without it they are all listed, labelled by
    condition), each with bounds and an explanation. ``params`` is built from them."""

    target = forms.ChoiceField(
        label="Which target (for % of an SLA target)",
        choices=[("response", "Response"), ("resolution", "Resolution")],
        required=False,
    )
    percent = forms.IntegerField(
        label="Percentage used (for % of an SLA target)",
        min_value=1,
        max_value=PERCENT_MAX,
        required=False,
        help_text=f"1 to {PERCENT_MAX}; 100 is the deadline itself, 150 half as long again.",
    )
    priority_at_most = forms.TypedChoiceField(
        label="Priority at or above (for priority)", choices=[("", "—")] + list(Priority.choices), coerce=int,
        required=False, empty_value=None,
    )  # fmt: skip
    impact_at_most = forms.TypedChoiceField(
        label="Impact at or above (for impact)", choices=[("", "—")] + list(Impact.choices), coerce=int,
        required=False, empty_value=None,
    )  # fmt: skip
    complexity_in = forms.MultipleChoiceField(
        label="Complexity is one of", choices=Complexity.choices, required=False, widget=forms.CheckboxSelectMultiple
    )
    tier_in = forms.MultipleChoiceField(
        label="Customer tier is one of", choices=CustomerTier.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    at_least = forms.IntegerField(
        label="At least (for reassignments / reopens)", min_value=1, max_value=COUNT_MAX, required=False,
        help_text=f"A count from 1 to {COUNT_MAX}.",
    )  # fmt: skip
    minutes = DurationText(
        label="No response within (business time)",
        required=False,
        min_value=timedelta(minutes=1),
        max_value=timedelta(minutes=MINUTES_MAX),
        help_text="Like 15 min, 4 h or 2 d of business time; at most 365 d.",
    )
    risk_at_least = _risk_field("Predicted risk at least (for breach / escalation risk)")
    and_breach_risk = _risk_field("And breach risk at least")
    and_escalation_risk = _risk_field("And escalation risk at least")
    and_target = forms.ChoiceField(
        label="And which target",
        choices=[("", "—"), ("response", "Response"), ("resolution", "Resolution")],
        required=False,
    )
    and_percent = forms.IntegerField(
        label="And percentage of that target used", min_value=1, max_value=PERCENT_MAX, required=False,
        help_text="With “and which target”: e.g. response and 50 = half the response time is gone.",
    )  # fmt: skip
    and_priority_at_most = forms.TypedChoiceField(
        label="And priority at or above", choices=[("", "—")] + list(Priority.choices), coerce=int,
        required=False, empty_value=None,
    )  # fmt: skip
    and_tier_in = forms.MultipleChoiceField(
        label="And customer tier is one of", choices=CustomerTier.choices, required=False,
        widget=forms.CheckboxSelectMultiple,
    )  # fmt: skip
    recipients = forms.MultipleChoiceField(
        choices=RecipientKind.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text="For notify: who gets the message.",
    )
    order = forms.IntegerField(min_value=0, max_value=ORDER_MAX, initial=100, help_text="Lower runs first.")
    repeat_every = DurationText(
        required=False,
        min_value=REPEAT_MIN,
        max_value=REPEAT_MAX,
        help_text="Fire again after this long (1 min to 365 d); blank = once per case per level.",
    )

    class Meta:
        model = TriggerRule
        fields = [
            "name",
            "order",
            "is_active",
            "level",
            "condition",
            "action",
            "recipients",
            "target_level",
            "stop_processing",
            "repeat_every",
        ]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        params = self.instance.params if isinstance(self.instance.params, dict) else {}
        condition = self.instance.condition
        for name in PARAM_FIELDS.get(condition, ()):
            value = params.get(PARAM_KEYS[name])
            if name == "minutes" and isinstance(value, (int, float)) and 0 < value <= MINUTES_MAX:
                value = timedelta(minutes=value)
            self.initial.setdefault(name, value)
        self.kept_extras = []
        shown = set()
        for extra in params.get("and", []) if isinstance(params.get("and"), list) else []:
            kind = extra.get("condition") if isinstance(extra, dict) else None
            if kind in AND_FIELDS and kind not in shown:
                shown.add(kind)
                for name in AND_FIELDS[kind]:
                    self.initial.setdefault(name, extra.get(AND_KEYS[name]))
            else:
                self.kept_extras.append(extra)

    def _extras(self, data: dict) -> list[dict]:
        """The ``"and"`` list from the "and also" fields, then the kept entries."""
        out = []
        for kind, names in AND_FIELDS.items():
            values = {name: data.get(name) for name in names}
            filled = [n for n, v in values.items() if v not in (None, "", [])]
            if not filled:
                continue
            for name in names:
                if name not in filled:
                    self.add_error(name, f"Fill this in too, or clear “{self.fields[filled[0]].label}”.")
            out.append({"condition": str(kind), **{AND_KEYS[n]: v for n, v in values.items()}})
        return out + self.kept_extras

    def _update_errors(self, errors):
        """The model checks ``params``, which has no field here: its message belongs to
        the form as a whole, and only when no parameter field already explains it."""
        if hasattr(errors, "error_dict") and "params" in errors.error_dict:
            messages_ = errors.error_dict.pop("params")
            if not self.errors:
                errors.error_dict.setdefault(NON_FIELD_ERRORS, []).extend(messages_)
        super()._update_errors(errors)

    def clean(self):
        data = super().clean()
        condition = data.get("condition")
        if condition not in PARAM_FIELDS:
            return data
        params = {}
        for name in PARAM_FIELDS[condition]:
            value = data.get(name)
            if name in self.errors:
                return data
            if value in (None, "", []):
                self.add_error(name, f"This field is required for the condition “{TR(condition).label}”.")
                continue
            if name == "minutes":
                value = round(value.total_seconds() / 60)
            params[PARAM_KEYS[name]] = value
        extras = self._extras(data)
        if self.errors:
            return data
        if extras:
            params["and"] = extras
        problem = condition_problem(condition, params)
        if problem:
            raise ValidationError(problem)
        self.instance.params = params
        return data


class RuleProblemInline(ReadOnlyInline):
    """Why the automation skipped this rule (recorded by the sweep); saving valid values clears it."""

    model = RuleProblem
    fields = ["reason", "first_seen", "last_seen", "skipped"]
    readonly_fields = fields
    verbose_name = verbose_name_plural = "skipped by the automation"


@admin.register(TriggerRule)
class TriggerRuleAdmin(HistoryAdmin):
    form = TriggerRuleForm
    inlines = [RuleProblemInline]
    list_display_links = ["name"]
    list_filter = ["is_active", "condition", "action", "level"]
    list_select_related = ["level"]
    search_fields = ["name"]
    fieldsets = [
        (None, {"fields": ["name", "order", "is_active", "level"]}),
        (
            "When",
            {
                "fields": [
                    "condition",
                    "target",
                    "percent",
                    "priority_at_most",
                    "impact_at_most",
                    "complexity_in",
                    "tier_in",
                    "at_least",
                    "minutes",
                    "risk_at_least",
                ],
                "description": "Fill in the fields for the chosen condition; the others are ignored.",
            },
        ),
        (
            "And also (optional)",
            {
                "fields": [
                    "and_breach_risk",
                    "and_escalation_risk",
                    "and_target",
                    "and_percent",
                    "and_priority_at_most",
                    "and_tier_in",
                ],
                "description": "Every condition filled in here must hold too, e.g. breach risk at least 0.6 "
                "and 50 % of the response target used.",
            },
        ),
        ("Then", {"fields": ["action", "recipients", "target_level", "stop_processing", "repeat_every"]}),
    ]
    list_display = ["order", "name", "is_active", "level", "condition", "params_text", "action", "repeat", "health"]

    @admin.display(description="parameters")
    def params_text(self, rule: TriggerRule) -> str:
        p = rule.params if isinstance(rule.params, dict) else {}
        parts = []
        for key, value in sorted(p.items(), key=lambda kv: kv[0] == "and"):  # "and" last
            if key == "and":
                parts.append(and_text(value))
            elif key == "minutes" and isinstance(value, (int, float)) and 0 < value <= MINUTES_MAX:
                parts.append(format_duration(timedelta(minutes=value)))
            elif key == "percent":
                parts.append(f"{value} % of {p.get('target', '?')}")
            elif key != "target":
                parts.append(f"{key.replace('_', ' ')} {value}")
        return ", ".join(parts)

    @admin.display(description="repeat every")
    def repeat(self, rule: TriggerRule) -> str:
        return format_duration(rule.repeat_every) if rule.repeat_every else "once"

    @admin.display(description="health")
    def health(self, rule: TriggerRule) -> str:
        problem = stored_rule_problem(rule)
        return f"skipped: {problem}" if problem else "ok"

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        RuleProblem.objects.filter(rule=obj).delete()  # saved through the form: valid again

    def changelist_view(self, request, extra_context=None):
        link_whatif(request)
        if request.method == "GET":
            for rule in TriggerRule.objects.filter(is_active=True).select_related("problem"):
                problem = stored_rule_problem(rule)
                if problem:
                    messages.warning(
                        request,
                        f"Rule “{rule.name}” is skipped by intake and the sweep: {problem} Open it and save valid values.",
                    )
        return super().changelist_view(request, extra_context)


def and_text(extras) -> str:
    """The ``"and"`` conditions in words, for the rule list."""
    if not isinstance(extras, list):
        return "and ?"
    words = []
    for e in extras:
        kind = e.get("condition") if isinstance(e, dict) else None
        if kind in (TR.BREACH_RISK, TR.ESCALATION_RISK):
            words.append(f"{kind.replace('_', ' ')} >= {e.get('at_least')}")
        elif kind == TR.SLA_PERCENT:
            words.append(f"{e.get('percent')} % of {e.get('target', '?')}")
        elif kind in TR.values:
            value = next((e[k] for k in ("in", "at_most", "at_least", "minutes") if k in e), "?")
            value = ", ".join(map(str, value)) if isinstance(value, list) else value
            words.append(f"{TR(kind).label.lower()} {value}")
        else:
            words.append("?")
    return "and " + ", ".join(words)


def stored_rule_problem(rule: TriggerRule) -> str | None:
    """Why a stored rule cannot be evaluated: its values fail validation now (saved around
    the form), or the sweep recorded a skip."""
    try:
        rule.clean()
    except ValidationError as exc:
        return " ".join(exc.messages)
    recorded = rule.problem if hasattr(rule, "problem") else None  # a missing one-to-one raises
    return (
        f"{recorded.reason} ({recorded.skipped} skips since {recorded.first_seen:%Y-%m-%d %H:%M})."
        if recorded
        else None
    )
