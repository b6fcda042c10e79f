"""The case: a read-only detail page whose buttons call the workflow layer.

The admin never writes a case itself: no add, no change, no delete. Every change is an
object view (``<id>/act/<action>/``) that parses a small form and calls one workflow
function, which checks state, authority and the version the user saw.
"""

from __future__ import annotations

import json

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from escalations import workflow
from escalations.actions import catalogue
from escalations.actions.catalogue import Action
from escalations.admin.base import (
    CaseRowsMixin,
    HistoryAdmin,
    ReadOnlyInline,
    ReadOnlyMixin,
    warn_if_sweep_stale,
)
from escalations.domain import clock
from escalations.models import ApprovalRequest, Case, Escalation, Note
from escalations.templatetags.desk import money


class EscalationInline(ReadOnlyInline):
    model = Escalation
    fk_name = "case"
    verbose_name_plural = "handoffs"
    fields = [
        "kind",
        "status",
        ("from_level", "to_level", "to_team"),
        ("raised_by", "rule", "created_at"),
        "reason",
        "summary",
        "steps_tried",
        "customer_impact",
        "knowledge_consulted",
        "justification",
        ("decided_by", "decided_at"),
        "return_reason",
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("from_level", "to_level", "to_team__level", "raised_by", "rule", "decided_by")
        )


class ApprovalInline(ReadOnlyInline):
    model = ApprovalRequest
    fields = [
        ("kind", "amount_shown", "status", "required_level"),
        ("requested_by", "created_at"),
        "description",
        ("decided_by", "decided_at"),
        "decision_note",
    ]

    readonly_fields = ["amount_shown"]

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("required_level", "requested_by", "decided_by")

    @admin.display(description="amount")
    def amount_shown(self, req: ApprovalRequest) -> str:
        return money(req.amount, req.currency)


class NoteInline(ReadOnlyInline):
    model = Note
    fields = [("kind", "author", "created_at"), "body"]
    show_change_link = False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("author")


CASE_FIELDSETS = [
    (
        "Case",
        {
            "fields": [
                "title",
                "description",
                ("requester_name", "requester_email"),
                "category",
                ("impact", "urgency", "priority"),
                ("complexity", "customer_tier"),
                ("source", "external_id"),
            ]
        },
    ),
    (
        "On the ladder",
        {
            "fields": [
                "status",
                ("level", "team", "assignee"),
                ("path", "highest_level"),
                "followers",
                "created_by",
            ]
        },
    ),
    (
        "SLA clock",
        {
            "fields": [
                "sla_clock",
                ("opened_at", "level_entered_at"),
                ("first_response_at", "sla_started_at"),
                ("response_due_at", "resolution_due_at"),
                ("response_breached_at", "resolution_breached_at"),
                "responded_at",
                ("ola_response_due_at", "ola_work_due_at"),
                ("ola_response_breached_at", "ola_work_breached_at"),
                ("paused_at", "pauses"),
                "next_check_at",
                ("resolved_at", "closed_at"),
                "resolution_summary",
            ]
        },
    ),
    (
        "Counters",
        {
            "fields": [
                ("reassignment_count", "reopen_count", "escalation_count"),
                ("version", "updated_at"),
            ]
        },
    ),
    ("Frozen policy", {"classes": ["collapse"], "fields": ["frozen_policy"]}),
]


@admin.register(Case)
class CaseAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    change_form_template = "admin/escalations/case/change_form.html"
    action_form_template = "admin/escalations/action_form.html"
    list_display = [
        "id",
        "title",
        "status",
        "priority",
        "level",
        "team",
        "assignee",
        "response_due_at",
        "resolution_due_at",
        "breached",
        "opened_at",
    ]
    list_display_links = ["id", "title"]
    list_filter = ["status", "level", "priority", "team", "category"]
    list_select_related = ["level", "team__level", "assignee"]
    # The title and address are read from the side table where their indexes are.
    search_fields = ["search_text__title", "=search_text__requester_email", "=external_id"]
    search_help_text = "A case number (42 or #42), words of the title, or the requester's exact e-mail."
    show_full_result_count = False
    case_lookup = "pk"
    fieldsets = CASE_FIELDSETS
    inlines = [EscalationInline, ApprovalInline, NoteInline]

    def get_readonly_fields(self, request, obj=None):
        return [
            f
            for _, opts in CASE_FIELDSETS
            for row in opts["fields"]
            for f in (row if isinstance(row, tuple) else (row,))
        ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("level", "team__level", "assignee", "category", "path", "highest_level", "created_by")
        )

    @admin.display(description="frozen SLA policy")
    def frozen_policy(self, case: Case) -> str:
        """The terms frozen at intake (``models.snapshots``), as stored."""
        terms = case.policy_snapshot
        if not terms:
            return "—"
        return format_html("<pre>{}</pre>", json.dumps(terms, indent=2, sort_keys=True, ensure_ascii=False))

    @admin.display(description="followers")
    def followers(self, case: Case) -> str:
        return ", ".join(u.get_full_name() or u.username for u in case.watchers.order_by("username")) or "—"

    @admin.display(boolean=True, description="breached")
    def breached(self, case: Case) -> bool:
        return bool(case.response_breached_at or case.resolution_breached_at)

    @admin.display(description="SLA clock")
    def sla_clock(self, case: Case) -> str:
        try:
            lines = clock.describe(case, timezone.now())
        except (KeyError, TypeError, ValueError, AttributeError):
            return "No usable policy snapshot on this case."
        return format_html("<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((line,) for line in lines)))

    def changelist_view(self, request, extra_context=None):
        if request.method == "GET":
            warn_if_sweep_stale(request)
        return super().changelist_view(request, extra_context)

    # -- actions --------------------------------------------------------------------------

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_act"
        return [
            path("<path:object_id>/act/<str:action>/", self.admin_site.admin_view(self.action_view), name=name),
            *super().get_urls(),
        ]

    def case_actions(self, request, case: Case) -> list[dict]:
        """The buttons this user may press on this case now."""
        return [
            {
                "slug": a.slug,
                "label": a.name,
                "one_click": a.one_click,
                "url": reverse(f"{self.admin_site.name}:escalations_case_act", args=[case.pk, a.slug]),
            }
            for a in catalogue.case_page_actions()
            if a.offered(case, request.user)
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None:
            context["case_actions"] = self.case_actions(request, obj)
        return super().render_change_form(request, context, add, change, form_url, obj)

    def action_view(self, request, object_id, action):
        spec = catalogue.ACTIONS.get(action)
        if spec is None or spec not in catalogue.case_page_actions():
            raise Http404(f"There is no case action '{action}'.")
        case = self.get_object(request, unquote(object_id))
        if case is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, case) or not spec.role_allows(request.user):
            raise PermissionDenied
        change_url = reverse(f"{self.admin_site.name}:escalations_case_change", args=[case.pk])
        if not spec.available(case, request.user):
            self.message_user(
                request,
                f"You cannot {spec.verb} case #{case.pk} now: it is "
                f"{case.get_status_display().lower()} at {case.level.code}, or your level does not allow it.",
                messages.ERROR,
            )
            return redirect(change_url)
        if request.method != "POST":
            return self.render_action_form(request, case, spec, spec.make_form(case, request.user))
        form = spec.make_form(case, request.user, request.POST, files=request.FILES)
        if not form.is_valid():
            if "version" in form.fields and "version" not in form.cleaned_data:
                self.message_user(
                    request,
                    "The form did not say which version of the case you saw; reload the case and try again.",
                    messages.ERROR,
                )
                return redirect(change_url)
            for error in form.non_field_errors():
                self.message_user(request, error, messages.ERROR)
            return self.render_action_form(request, case, spec, form)
        try:
            text = spec.message(spec.perform(case, request.user, form))
        except workflow.WorkflowError as exc:
            self.message_user(request, exc.message, messages.ERROR)
            if spec.one_click:
                return redirect(change_url)
            if isinstance(exc, workflow.Conflict):
                # Show what the case is now; the typed input stays and may be sent again.
                case = self.get_object(request, unquote(object_id)) or case
                data = request.POST.copy()
                data["version"] = str(case.version)
                form = spec.make_form(case, request.user, data)
                form.is_valid()
            form.add_workflow_error(exc)
            return self.render_action_form(request, case, spec, form)
        self.message_user(request, text, messages.SUCCESS)
        return redirect(change_url)

    def render_action_form(self, request, case: Case, spec: Action, form):
        context = {
            **self.admin_site.each_context(request),
            "title": f"{spec.name}: case #{case.pk}",
            "subtitle": case.title,
            "opts": self.opts,
            "original": case,
            "form": form,
            "submit_label": spec.button,
            "change_url": reverse(f"{self.admin_site.name}:escalations_case_change", args=[case.pk]),
            "facts": [
                ("Status", case.get_status_display()),
                ("Level", f"{case.level.code}{f' / {case.team.name}' if case.team_id else ''}"),
                ("Assignee", case.assignee or "nobody"),
                ("Priority", case.get_priority_display()),
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, self.action_form_template, context)
