"""``/portal/``: the requester's pages (namespace ``portal``)."""

from django.urls import path

from escalations.portal import views

app_name = "portal"
urlpatterns = [
    path("", views.home, name="home"),
    path("sign-in/", views.sign_in_page, name="sign-in"),
    path("sign-in/<str:token>/", views.enter, name="enter"),
    path("sign-out/", views.sign_out_view, name="sign-out"),
    path("new/", views.new_request, name="new"),
    path("suggestions/", views.suggestions, name="suggestions"),
    path("solved/", views.deflect, name="deflect"),
    path("requests/<int:pk>/", views.case_page, name="case"),
    path("requests/<int:pk>/resolution/", views.resolution_answer, name="resolution"),
    path("requests/<int:pk>/survey/", views.survey, name="survey"),
    path("requests/<int:pk>/files/<int:attachment_pk>/", views.attachment, name="attachment"),
    path("survey/<str:token>/", views.survey_link, name="survey-link"),
]
