"""The audit trail's own rows: chain heads and maintenance seals. Written only by
``escalations.audit``; readable by auditors (``view_audit``), never editable here."""

from __future__ import annotations

from django.contrib import admin

from escalations.admin.base import ReadOnlyMixin
from escalations.models import AuditHead, AuditSeal

PERM_VIEW_AUDIT = "escalations.view_audit"


class AuditAdmin(ReadOnlyMixin, admin.ModelAdmin):
    def has_view_permission(self, request, obj=None) -> bool:
        return super().has_view_permission(request, obj) or request.user.has_perm(PERM_VIEW_AUDIT)

    def has_module_permission(self, request) -> bool:
        return super().has_module_permission(request) or request.user.has_perm(PERM_VIEW_AUDIT)


@admin.register(AuditHead)
class AuditHeadAdmin(AuditAdmin):
    list_display = ["table", "rows", "last_history_id", "last_hash"]
    search_fields = ["table"]


@admin.register(AuditSeal)
class AuditSealAdmin(AuditAdmin):
    list_display = ["at", "actor", "reason"]
    search_fields = ["actor", "reason"]
