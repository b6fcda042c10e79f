"""Sign in and out, and a home that sends each role to its work."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from escalations import selectors
from escalations.domain import authority
from escalations.views.base import staff_page


class LoginView(auth_views.LoginView):
    template_name = "escalations/login.html"
    redirect_authenticated_user = True
    next_page = "home"


class LogoutView(auth_views.LogoutView):
    next_page = "login"


@staff_page
def home(request: HttpRequest) -> HttpResponse:
    """Staff on a level work from their own queue; managers and auditors start from the
    whole desk; anyone else is told who can give them a role."""
    user = request.user
    if selectors.sees_everything(user):
        return redirect("team-queue")
    if user.has_perm(authority.PERM_WORK) and authority.user_level(user) is not None:
        return redirect("my-queue")
    return render(request, "escalations/no_role.html", status=403)
