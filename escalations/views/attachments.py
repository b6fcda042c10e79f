"""Files requesters sent, for the staff who may see the case. Always a download (never
shown inline): a sender's HTML or SVG must not run on the desk's own pages."""

from __future__ import annotations

from django.http import FileResponse, Http404, HttpRequest

from escalations import selectors
from escalations.models import Attachment
from escalations.views.base import staff_page


@staff_page
def case_attachment(request: HttpRequest, pk: int, attachment_pk: int) -> FileResponse:
    case = selectors.case_for(request.user, pk)  # 404 outside the user's scope
    attachment = Attachment.objects.filter(pk=attachment_pk, case=case).first()
    if attachment is None:
        raise Http404("No such attachment on this case.")
    try:
        handle = attachment.file.open("rb")
    except FileNotFoundError:
        raise Http404("The file of this attachment is missing from storage.") from None
    response = FileResponse(
        handle, as_attachment=True, filename=attachment.filename, content_type="application/octet-stream"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response
