"""What happened to cases: handoffs, notes, approvals, reviews; and the knowledge base.

All but the knowledge base are written only by the workflow layer, so they are read-only
here; approvals are decided through buttons that call ``workflow.approval_decide``.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.text import Truncator

from escalations import workflow
from escalations.actions import catalogue
from escalations.admin.base import CaseRowsMixin, HistoryAdmin, ReadOnlyMixin
from escalations.domain import authority
from escalations.models import ApprovalRequest, ApprovalStatus, Case, Escalation, KnowledgeArticle, Note, Review
from escalations.templatetags.desk import money


@admin.register(Escalation)
class EscalationAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["created_at", "case", "kind", "status", "from_level", "to_level", "raised_by", "rule", "decided_by"]
    list_filter = ["status", "kind", "to_level"]
    list_select_related = ["case", "from_level", "to_level", "raised_by", "rule", "decided_by"]
    raw_id_fields = ["case", "from_assignee", "raised_by", "decided_by"]
    search_fields = ["case__title"]
    show_full_result_count = False


@admin.register(Note)
class NoteAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["created_at", "case", "kind", "author", "excerpt"]
    list_filter = ["kind"]
    list_select_related = ["case", "author"]
    raw_id_fields = ["case", "author"]
    search_fields = ["case__title"]
    show_full_result_count = False

    @admin.display(description="text")
    def excerpt(self, note: Note) -> str:
        return Truncator(note.body).chars(80)


DECISIONS = {"approve": ("Approve", True), "reject": ("Reject", False)}


@admin.register(ApprovalRequest)
class ApprovalRequestAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    change_form_template = "admin/escalations/approvalrequest/change_form.html"
    list_display = [
        "created_at",
        "case",
        "kind",
        "amount_shown",
        "status",
        "required_level",
        "requested_by",
        "decided_by",
    ]
    list_filter = ["status", "kind", "required_level"]
    list_select_related = ["case", "required_level", "requested_by", "decided_by"]
    raw_id_fields = ["case", "requested_by", "decided_by"]
    search_fields = ["case__title"]

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_decide"
        return [
            path("<path:object_id>/decide/<str:decision>/", self.admin_site.admin_view(self.decide_view), name=name),
            *super().get_urls(),
        ]

    @admin.display(description="amount", ordering="amount")
    def amount_shown(self, req: ApprovalRequest) -> str:
        return money(req.amount, req.currency)

    def _decide_url(self, req: ApprovalRequest, decision: str) -> str:
        return reverse(f"{self.admin_site.name}:escalations_approvalrequest_decide", args=[req.pk, decision])

    def can_decide(self, request, req: ApprovalRequest) -> bool:
        return req.status == ApprovalStatus.PENDING and authority.can_decide(req.kind, req.amount, request.user)

    def render_change_form(self, request, context, add=False, change=False, form_url="", obj=None):
        if obj is not None and self.can_decide(request, obj):
            context["decision_actions"] = [
                {"slug": slug, "label": label, "url": self._decide_url(obj, slug)}
                for slug, (label, _) in DECISIONS.items()
            ]
        return super().render_change_form(request, context, add, change, form_url, obj)

    def decide_view(self, request, object_id, decision):
        if decision not in DECISIONS:
            raise Http404(f"There is no decision '{decision}'.")
        label, approve = DECISIONS[decision]
        req = self.get_object(request, unquote(object_id))
        if req is None:
            return self._get_obj_does_not_exist_redirect(request, self.opts, object_id)
        if not self.has_view_permission(request, req) or not request.user.has_perm(authority.PERM_DECIDE):
            raise PermissionDenied
        change_url = reverse(f"{self.admin_site.name}:escalations_approvalrequest_change", args=[req.pk])
        if not self.can_decide(request, req):
            self.message_user(
                request,
                f"You cannot decide this request: it is "
                f"{req.get_status_display().lower()}, or your level's authority does not "
                f"cover it (it needs {req.required_level.code}).",
                messages.ERROR,
            )
            return redirect(change_url)
        decide = catalogue.ACTIONS["decide"]
        data = request.POST.copy() if request.method == "POST" else None
        if data is not None:
            data["decision"] = decision  # the button the manager pressed decides, not a field
        form = decide.make_form(None, request.user, data)
        form.fields["decision"].widget = form.fields["decision"].hidden_widget()
        form.initial["decision"] = decision
        if request.method == "POST" and form.is_valid():
            try:
                decide.perform(req, request.user, form)
            except workflow.WorkflowError as exc:
                self.message_user(request, exc.message, messages.ERROR)
                for name, message in exc.errors.items():
                    form.add_error(name if name in form.fields else None, message)
            else:
                self.message_user(
                    request,
                    f"{req.get_kind_display()} request {'approved' if approve else 'rejected'}.",
                    messages.SUCCESS,
                )
                return redirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"{label}: {req}",
            "subtitle": f"Case #{req.case_id}",
            "opts": self.opts,
            "original": req,
            "form": form,
            "submit_label": label,
            "change_url": change_url,
            "facts": [
                ("Case", req.case),
                ("Requested by", req.requested_by or "-"),
                ("Description", req.description),
                ("Needs", req.required_level.code),
            ],
        }
        request.current_app = self.admin_site.name
        return TemplateResponse(request, "admin/escalations/action_form.html", context)


@admin.register(Review)
class ReviewAdmin(CaseRowsMixin, ReadOnlyMixin, HistoryAdmin):
    list_display = ["case", "status", "reviewer", "escalation_warranted", "completed_at"]
    list_filter = ["status", "escalation_warranted"]
    list_select_related = ["case", "reviewer"]
    raw_id_fields = ["case", "reviewer"]
    search_fields = ["case__title", "root_cause"]


@admin.register(KnowledgeArticle)
class KnowledgeArticleAdmin(HistoryAdmin):
    """The article's own text is edited here; its author is whoever creates it (never a
    field), and its links to cases go through ``workflow.knowledge_link`` one by one (each
    checked against the user's right to work the case, each with a history row). The
    case picker offers only cases the user may see (``ScopedChoicesMixin``), and links to
    cases the user may not see are neither shown nor removed by saving the form."""

    list_display = ["title", "category", "is_published", "author", "updated_at"]
    list_filter = ["is_published", "category"]
    list_select_related = ["category", "author"]
    search_fields = ["title"]
    readonly_fields = ["author", "created_at"]
    autocomplete_fields = ["cases"]

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change, **kwargs)
        visible = Case.objects.visible_to(request.user).values("pk")

        class ScopedArticleForm(form):
            def __init__(self, *args, **kw):
                super().__init__(*args, **kw)
                if self.instance.pk and "cases" in self.fields:
                    self.initial["cases"] = list(
                        self.instance.cases.filter(pk__in=visible).values_list("pk", flat=True)
                    )

        return ScopedArticleForm

    def save_model(self, request, obj, form, change):
        if not change:
            obj.author = request.user
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        wanted = {c.pk for c in form.cleaned_data.pop("cases", None) or []}
        super().save_related(request, form, formsets, change)
        article = form.instance
        shown = set(
            article.cases.filter(pk__in=Case.objects.visible_to(request.user).values("pk")).values_list("pk", flat=True)
        )
        for case_id, linked in [
            *((pk, True) for pk in sorted(wanted - shown)),
            *((pk, False) for pk in sorted(shown - wanted)),
        ]:
            try:
                workflow.knowledge_link(case_id=case_id, article_id=article.pk, actor=request.user, linked=linked)
            except workflow.WorkflowError as exc:
                self.message_user(request, f"Case #{case_id}: {exc}", messages.ERROR)
