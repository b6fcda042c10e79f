"""Durations as people write them, everywhere: the pure parser and formatter (no database),
the template filter, the admin forms and lists."""

from datetime import timedelta

import pytest
from django.template import Context, Template
from django.urls import reverse

from escalations.core.durations import format_duration, parse_duration
from escalations.reports.output import cell_text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (timedelta(minutes=15), "15 min"),
        (timedelta(hours=4), "4 h"),
        (timedelta(days=2), "2 d"),
        (timedelta(days=1, hours=4, minutes=30), "1 d 4 h 30 min"),
        (timedelta(seconds=90), "1 min 30 s"),
        (timedelta(0), "0 min"),
        (None, ""),
    ],
)
def test_format(value, text):
    assert format_duration(value) == text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("15 min", timedelta(minutes=15)),
        ("4 h", timedelta(hours=4)),
        ("2 d", timedelta(days=2)),
        ("1 d 4 h", timedelta(days=1, hours=4)),
        ("90", timedelta(minutes=90)),
        ("1:30", timedelta(hours=1, minutes=30)),
        ("1.5 hours", timedelta(minutes=90)),
        ("2 days", timedelta(days=2)),
    ],
)
def test_parse(text, value):
    assert parse_duration(text) == value
    assert parse_duration(format_duration(value)) == value


@pytest.mark.parametrize("text", ["", "soon", "1e300", "1e300 min", "99999999 d", "4 parsecs", "-5 min"])
def test_parse_refuses_with_a_sentence(text):
    with pytest.raises(ValueError) as exc:
        parse_duration(text)
    assert str(exc.value).endswith(".")


def test_template_filter_and_report_cells():
    rendered = Template("{{ d|duration }} / {{ m|duration }} / {{ a|money }}").render(
        Context({"d": timedelta(hours=4), "m": 15, "a": "1250"})
    )
    assert rendered == "4 h / 15 min / EUR 1,250.00"
    assert cell_text(2.5, "hours") == "2 h 30 min"


@pytest.mark.django_db
def test_admin_level_list_and_form_show_durations(client, manager):
    client.force_login(manager)
    listing = client.get(reverse("admin:escalations_level_changelist")).content.decode()
    assert " h<" in listing or " min<" in listing or " d<" in listing
    from escalations.models import Level

    level = Level.objects.get(code="L1")
    form = client.get(reverse("admin:escalations_level_change", args=[level.pk])).content.decode()
    assert f'value="{format_duration(level.response_target)}"' in form
