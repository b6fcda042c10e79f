"""Four-eyes changes to authority in the admin: propose one, and a second manager
approves or rejects it (``workflow.authority_changes``).

The records are written only by the workflow, so the admin's own add and change forms
are replaced: "Add" is the proposal form of the action catalogue, and the change page
offers Approve / Reject buttons to a manager who may decide it.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from escalations import workflow
from escalations.actions import catalogue
from escalations.admin.base import HistoryAdmin
from escalations.domain import authority
from escalations.models import AuthorityChange, AuthorityChangeStatus

DECISIONS = {"approve": ("Approve and apply", True), "reject": ("Reject", False)}


@admin.register(AuthorityChange)
class AuthorityChangeAdmin(HistoryAdmin):
    change_form_template = "admin/escalations/approvalrequest/change_form.html"  # the decision buttons
    list_display = ["proposed_at", "summary", "status", "proposed_by", "decided_by", "decided_at"]
    list_filter = ["status", "what"]
    list_select_related = ["proposed_by", "decided_by"]
    search_fields = ["summary", "reason"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_decide"
        return [
            path("<path:object_id>/decide/<str:decision>/", self.admin_site.admin_view(self.decide_view), name=name),
            *super().get_urls(),
        ]

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and obj.status == AuthorityChangeStatus.PENDING and authority.is_manager(request.user):
            context["decision_actions"] = [
                {
                    "slug": slug,
                    "label": label,
                    "url": reverse(f"{self.admin_site.name}:escalations_authoritychange_decide", args=[obj.pk, slug]),
                }
                for slug, (label, _) in DECISIONS.items()
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def _render(self, request, form, title: str, label: str, back: str, facts=(), original=None):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "opts": self.opts,
            "original": original or self.opts.verbose_name_plural,
            "form": form,
            "submit_label": label,
            "change_url": back,
            "facts": list(facts),
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/escalations/action_form.html", context)

    def add_view(self, request, form_url="", extra_context=None):
        """The proposal form; the workflow checks who may propose what."""
        if not self.has_add_permission(request):
            raise PermissionDenied
        propose = catalogue.ACTIONS["propose-authority-change"]
        form = propose.make_form(None, request.user, request.POST if request.method == "POST" else None)
        if request.method == "POST" and form.is_valid():
            try:
                change = propose.perform(None, request.user, form)
            except workflow.WorkflowError as exc:
                form.add_workflow_error(exc)
            else:
                self.message_user(request, propose.message(change), messages.SUCCESS)
                return redirect(reverse(f"{self.admin_site.name}:escalations_authoritychange_changelist"))
        back = reverse(f"{self.admin_site.name}:escalations_authoritychange_changelist")
        return self._render(request, form, "Propose an authority change", "Propose", back)

    def decide_view(self, request, object_id, decision):
        if decision not in DECISIONS:
            raise Http404(f"There is no decision '{decision}'.")
        label, approve = DECISIONS[decision]
        change = self.get_object(request, unquote(object_id))
        if change is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, change) or not authority.is_manager(request.user):
            raise PermissionDenied
        back = reverse(f"{self.admin_site.name}:escalations_authoritychange_change", args=[change.pk])
        decide = catalogue.ACTIONS["decide-authority-change"]
        data = request.POST.copy() if request.method == "POST" else None
        if data is not None:
            data["decision"] = decision  # the button pressed decides, not a field
        form = decide.make_form(None, request.user, data)
        form.fields["decision"].widget = form.fields["decision"].hidden_widget()
        form.initial["decision"] = decision
        if request.method == "POST" and form.is_valid():
            try:
                decide.perform(change, request.user, form)
            except workflow.WorkflowError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                if not exc.errors:
                    return redirect(back)
                for name, message in exc.errors.items():
                    form.add_error(name if name in form.fields else None, message)
            else:
                self.message_user(request, decide.message(change), messages.SUCCESS)
                return redirect(back)
        facts = [
            ("Change", change.summary),
            ("Why", change.reason),
            ("Proposed by", change.proposed_by or "-"),
            ("Approve", "applies the change now" if approve else "-"),
        ]
        return self._render(request, form, f"{label}: {change.summary}", label, back, facts, change)
