"""Line breaks in a title never stop its e-mails (issue 14, finding 10): titles and names
are one line on the way in (forms, admin, mail intake, workflow: the model's save), and a
notice whose message cannot be built fails once, loudly, shown in the admin's outbox list,
while the other notices go out."""

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from escalations.automation import outbox
from escalations.core.text import one_line
from escalations.models import Case, Notification, NotificationStatus

from .factories import open_case

pytestmark = pytest.mark.django_db
LATER = timedelta(days=30)  # past any working-hours wait


def test_one_line_drops_breaks_and_control_characters():
    assert one_line("Printer\r\non\tfire\x00\x1b[31m\u202e!  ") == "Printer on fire[31m!"
    assert one_line(None) is None


def test_a_title_with_crlf_is_stored_on_one_line_and_its_mail_goes_out(agent):
    case = open_case(agent, title="Printer\r\nBcc: evil@example.com", requester_name="Rita\r\nRequester")
    case.refresh_from_db()
    assert (case.title, case.requester_name) == ("Printer Bcc: evil@example.com", "Rita Requester")
    assert Case.history.filter(id=case.pk).latest("history_id").title == case.title
    assert outbox.flush(now=timezone.now() + LATER) >= 1
    assert not Notification.objects.filter(case=case).exclude(status=NotificationStatus.SENT).exists()
    assert mail.outbox and all("\n" not in m.subject and "\r" not in m.subject for m in mail.outbox)
    assert all(m.bcc == [] for m in mail.outbox)


def test_a_notice_that_cannot_be_built_fails_once_and_blocks_nothing(agent, admin_client):
    bad_case, good_case = open_case(agent), open_case(agent, title="Second")
    bad = Notification.objects.get(case=bad_case, event="opened")
    # A row queued before this fix (or by any other writer) with a header no retry can mend.
    Notification.objects.filter(pk=bad.pk).update(recipient="rita@example.com\r\nBcc: x@example.com")
    assert outbox.flush(now=timezone.now() + LATER) == 1
    bad.refresh_from_db()
    assert bad.status == NotificationStatus.FAILED and bad.attempts == 1
    assert "cannot be built" in bad.last_error
    assert Notification.objects.get(case=good_case, event="opened").status == NotificationStatus.SENT
    assert outbox.flush(now=timezone.now() + 2 * LATER) == 0  # never retried
    bad.refresh_from_db()
    assert bad.attempts == 1
    page = admin_client.get("/admin/escalations/notification/").content.decode()
    assert "cannot be built" in page
