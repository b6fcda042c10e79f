from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

admin.site.site_header = "Escalation desk"
admin.site.site_title = "Escalation desk"
admin.site.index_title = "Back office"

urlpatterns = [
    path("admin/reports/", include("escalations.admin.reports")),  # before admin/: its catch-all
    path("admin/audit/", include("escalations.admin.audit_log")),
    path("admin/", admin.site.urls),
    path("api/v1/", include("escalations.api.urls")),
    path("portal/", include("escalations.portal.urls")),  # the requester portal
    path("", include("escalations.urls")),
    path("", RedirectView.as_view(pattern_name="home", permanent=False)),
]

# A lost database connection answers 503 with what the user typed; anything else 500.
handler500 = "escalations.views.errors.server_error"
