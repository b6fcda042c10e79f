"""The staff menu by role (a context processor, so every staff page gets the same menu):
managers see Reports, the staffing forecast and Admin, auditors the audit log, anyone who may decide an approval
sees how many wait, agents their queue. Permissions, not group names, decide."""

from __future__ import annotations

from django.urls import reverse

from escalations.domain import authority
from escalations.selectors.approvals import approvals_waiting_count


def staff_menu(request) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/admin/"):
        return {}
    links = []
    if user.has_perm(authority.PERM_MANAGE) or user.is_superuser:
        links.append(("reports", "Reports", reverse("reports-index")))
        links.append(("forecast", "Staffing forecast", reverse("reports-detail", args=["forecast"])))
    if user.is_superuser or user.has_perm("escalations.view_audit"):
        links.append(("audit", "Audit log", reverse("audit-log")))
    if user.is_staff:
        links.append(("admin", "Admin", reverse("admin:index")))
    return {"staff_links": links, "approvals_waiting": approvals_waiting_count(user)}
