"""``/api/v1/``: cases, actions, monitoring intake, the OpenAPI schema and its docs."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from escalations.api import cases, intake

app_name = "api"

urlpatterns = [
    path("cases/", cases.CaseList.as_view(), name="cases"),
    path("cases/<int:pk>/", cases.CaseDetail.as_view(), name="case"),
    path("cases/<int:pk>/notes/", cases.CaseNotes.as_view(), name="case-notes"),
    path("cases/<int:pk>/actions/<slug:slug>/", cases.CaseAction.as_view(), name="case-action"),
    path("intake/alertmanager", intake.AlertmanagerIntake.as_view(), name="intake-alertmanager"),
    path("intake/grafana", intake.GrafanaIntake.as_view(), name="intake-grafana"),
    path("intake/generic", intake.GenericIntake.as_view(), name="intake-generic"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("redoc/", SpectacularRedocView.as_view(url_name="api:schema"), name="redoc"),
]
