"""Insert a canned reply into the public-update form, without JavaScript: the form's
"Insert the reply" button posts here; the case page comes back with the reply's text
(placeholders filled) after what was already typed. Nothing is written."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_POST

from escalations import selectors
from escalations.actions import catalogue
from escalations.models import CannedReply
from escalations.selectors import canned
from escalations.views.base import writer_only
from escalations.views.case_page import Failure, render_case

KEY = "public-update"


@require_POST
@writer_only
def case_insert_reply(request: HttpRequest, pk: int) -> HttpResponse:
    case = selectors.case_for(request.user, pk)  # 404 outside the user's scope
    spec = catalogue.ACTIONS[KEY]
    if not spec.available(case, request.user):
        raise Http404("You may not send an update on this case now.")
    form = spec.make_form(case, request.user, request.POST, prefix=KEY)
    form.is_valid()  # the canned choice is checked against the replies offered to this user
    chosen = getattr(form, "cleaned_data", {}).get("canned") if "canned" in form.fields else None
    reply = CannedReply.objects.filter(pk=chosen).first() if chosen else None
    if reply is None:
        form = spec.make_form(case, request.user, request.POST, prefix=KEY)
        form.is_valid()
        if "canned" in form.fields and "canned" not in form.errors:
            form.add_error("canned", "Choose a canned reply to insert.")
        return render_case(request, case, Failure(KEY, form, "No canned reply was inserted."), status=400)
    data = request.POST.copy()
    typed = data.get(f"{KEY}-body", "").rstrip()
    text = canned.fill(reply.body, case, request.user)
    data[f"{KEY}-body"] = f"{typed}\n\n{text}" if typed else text
    data[f"{KEY}-canned"] = ""
    draft = spec.make_form(case, request.user, data, prefix=KEY)
    return render_case(request, case, Failure(KEY, draft, "", draft=True))
