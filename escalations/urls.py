"""Staff pages and the requester's confirmation link (URL names are not namespaced:
``requester-confirm`` is reversed by name in e-mails)."""

from django.urls import path

from escalations import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("desk/", views.home, name="home"),
    path("queue/mine/", views.my_queue, name="my-queue"),
    path("queue/team/", views.team_queue, name="team-queue"),
    path("queue/collaborating/", views.collab_queue, name="collab-queue"),
    path("queue/following/", views.following_queue, name="following-queue"),
    path("queue/mine/live/", views.queue_live, {"scope": "mine"}, name="my-queue-live"),
    path("queue/team/live/", views.queue_live, {"scope": "team"}, name="team-queue-live"),
    path("queue/collaborating/live/", views.queue_live, {"scope": "collab"}, name="collab-queue-live"),
    path("queue/following/live/", views.queue_live, {"scope": "following"}, name="following-queue-live"),
    path("queue/bulk/", views.queue_bulk, name="queue-bulk"),
    path("queue/filters/save/", views.queue_filter_save, name="queue-filter-save"),
    path("queue/filters/<int:pk>/delete/", views.queue_filter_delete, name="queue-filter-delete"),
    path("cases/new/", views.case_new, name="case-new"),
    path("cases/similar/", views.case_similar, name="case-similar"),
    path("cases/suggest/", views.case_suggest, name="case-suggest"),
    path("cases/<int:pk>/", views.case_detail, name="case-detail"),
    path("cases/<int:pk>/review/", views.case_review, name="case-review"),
    path("cases/<int:pk>/similar/", views.case_similar_resolved, name="case-similar-resolved"),
    path("cases/<int:pk>/attachments/<int:attachment_pk>/", views.case_attachment, name="case-attachment"),
    path("cases/<int:pk>/canned-reply/", views.case_insert_reply, name="case-insert-reply"),
    path("cases/<int:pk>/articles/link/", views.article_link, name="article-link"),
    path("cases/<int:pk>/articles/<int:article_pk>/unlink/", views.article_unlink, name="article-unlink"),
    path("cases/<int:pk>/<slug:action>/", views.case_action, name="case-action"),
    path("approvals/", views.approvals_list, name="approvals"),
    path("approvals/<int:pk>/decide/", views.approval_decide, name="approval-decide"),
    path("approvals/<int:pk>/withdraw/", views.approval_withdraw, name="approval-withdraw"),
    path("kb/", views.kb_list, name="kb-list"),
    path("kb/<int:pk>/", views.kb_detail, name="kb-detail"),
    path("confirm/<str:token>/", views.requester_confirm, name="requester-confirm"),
]
