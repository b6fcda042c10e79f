from django.contrib import admin
from django.urls import path
from django.views.generic import RedirectView

from escalations import views

admin.site.site_header = "Escalation desk"
admin.site.site_title = "Escalation desk"
admin.site.index_title = "Back office"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("confirm/<str:token>/", views.requester_confirm, name="requester-confirm"),
    path("", RedirectView.as_view(url="/admin/", permanent=False)),
]
