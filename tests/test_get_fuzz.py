"""No GET request yields a 5xx: every URL pattern the resolver knows (staff pages, the
admin's changelists, object pages and autocomplete, reports, the audit log, the what-if,
and whatever is added later: an API, a portal) is requested as a superuser and as an
agent, with junk in each GET parameter it is known to read and in random ones.

Nothing here lists URLs or parameters by hand, so new pages are covered without edits:

* URLs come from walking ``get_resolver()``; path arguments are filled with ids of real
  objects (the admin's ``object_id`` from the ModelAdmin behind the view, ``pk`` from the
  path segment before it, report names from the registry), so views get past their
  lookups to the code that reads the query string.
* Parameters come from the page itself (every field of a GET form, every ``?a=b`` link,
  which covers the admin's filters, ordering and paging), from the admin's own names
  (``q``, ``o``, ``p``, ``_to_field``, autocomplete's ``term`` ...) and from a list of
  names the desk uses (``cursor``, ``date_from`` ...), plus random names.

``GET_FUZZ_DEPTH`` (default 2) is how many junk values each parameter gets on its own;
every junk value is also sent in all parameters at once.
"""

from __future__ import annotations

import os
import random
import re
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from escalations import workflow
from escalations.domain import requester_links
from escalations.models import ApprovalRequest, Attachment, CannedReply, Case, KnowledgeArticle
from escalations.reports import REGISTRY

from .factories import HANDOFF, CategoryFactory, open_case

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

DEPTH = int(os.environ.get("GET_FUZZ_DEPTH", "2"))

JUNK = [
    "\x00",
    "a\x00b",
    "-1",
    "99999999999999999999999",
    "-9223372036854775809",
    "0001-01-01",
    "9999-12-31",
    "1e999",
    "x" * 5000,
    "é漢字🙂\u202e",
    "' OR 1=1 --",
    "%",
    "1|0001-01-01T00:00:00+14:00|1",
    "2|9999-12-31T23:59:59-14:00|9223372036854775807",
    "1|2025-01-01T00:00:00|99999999999999999999",
    "-|~|~~",
]

# Names the desk's pages read that a clean page may not show (second pages, exports).
COMMON = [
    "q",
    "cursor",
    "back",
    "page",
    "p",
    "o",
    "date_from",
    "date_to",
    "from",
    "to",
    "export",
    "period",
    "next",
    "term",
    "limit",
    "offset",
    "format",
    "level",
    "team",
    "status",
]
ADMIN = ["q", "o", "p", "e", "_to_field", "_popup", "_changelist_filters", "all"]
AUTOCOMPLETE = {"app_label": "escalations", "model_name": "case", "field_name": "assignee", "term": "a", "page": "1"}


class FormFields(HTMLParser):
    """Names of GET-form fields and of query parameters in links on a page."""

    def __init__(self, all_forms: bool = False):
        super().__init__()
        self.names: set[str] = set()
        self.in_get_form = False
        self.all_forms = all_forms

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.in_get_form = self.all_forms or (a.get("method") or "get").lower() == "get"
        elif tag in ("input", "select", "textarea", "button") and self.in_get_form and a.get("name"):
            self.names.add(a["name"])
        elif tag == "a" and a.get("href") and "?" in a["href"]:
            self.names.update(k for k, _ in parse_qsl(urlsplit(a["href"]).query, keep_blank_values=True))

    def handle_endtag(self, tag):
        if tag == "form":
            self.in_get_form = False


def harvest(response, all_forms: bool = False) -> set[str]:
    """``all_forms``: an admin add page reads its POST form's field names from GET too
    (as initial values), so those names count."""
    if "html" not in response.get("Content-Type", ""):
        return set()
    parser = FormFields(all_forms)
    parser.feed(response.content.decode("utf-8", "replace"))
    return {n for n in parser.names if n != "csrfmiddlewaretoken"}


def walk(patterns, prefix=""):
    for p in patterns:
        if isinstance(p, URLResolver):
            yield from walk(p.url_patterns, prefix + str(p.pattern))
        elif isinstance(p, URLPattern):
            yield prefix + str(p.pattern), p


class Objects:
    """Real ids to put in path arguments."""

    def __init__(self, world):
        self.w = world

    def by_segment(self, segment: str):
        segment = segment.lower()
        for word, obj in (
            ("case", self.w["case"]),
            ("approval", self.w["approval"]),
            ("kb", self.w["article"]),
            ("article", self.w["article"]),
            ("knowledge", self.w["article"]),
            ("attachment", self.w["attachment"]),
            ("user", self.w["agent"]),
        ):
            if word in segment:
                return obj
        return self.w["case"]

    def admin_object(self, model_admin):
        obj = model_admin.model._default_manager.order_by("pk").first()
        return str(obj.pk) if obj is not None else "1"


def fill(route: str, pattern: URLPattern, objects: Objects) -> list[str]:
    """Concrete paths for a route: every ``<conv:name>`` and regex group replaced."""
    model_admin = getattr(pattern.callback, "model_admin", None)
    if "(?P<url>" in route:
        return ["admin/no-such-page/"]
    if "app_label" in route:
        route = re.sub(r"\^\(\?P<app_label>[^)]*\)", "escalations", route)
    if route.startswith("admin/reports/") and "<slug:name>" in route:
        out = []
        for name in REGISTRY:
            keys = objects.w["report_tables"].get(name, ["x"]) if "<slug:table_key>" in route else [""]
            for key in keys:
                out.append(route.replace("<slug:name>", name).replace("<slug:table_key>", key))
        return out
    if "history/([^/]+)/$" in route:  # simple_history's object history page
        case = objects.w["case"]
        hist = case.history.order_by("history_id").first()
        prefix = route.split("^")[0]
        model = prefix.rstrip("/").rsplit("/", 1)[-1]
        if model != "case":
            return [prefix + "1/history/1/"]
        return [f"{prefix}{case.pk}/history/{hist.history_id}/"]
    route = route.replace("^", "").replace("$", "")

    def value(match: re.Match) -> str:
        name = match.group(2)
        before = route[: match.start()].rstrip("/").rsplit("/", 1)[-1]
        if name == "object_id":
            if model_admin is not None:
                return objects.admin_object(model_admin)
            if "/r/" in route:
                return str(objects.w["case"].pk)
            return str(objects.by_segment(route.split("/")[2] if route.startswith("admin/") else before).pk)
        if name == "content_type_id":
            return str(ContentType.objects.get_for_model(Case).pk)
        if name in ("action",):
            return "take"
        if name == "decision":
            return "approve"
        if name == "token":
            return objects.w["token"]
        if name == "id":
            return str(objects.w["agent"].pk)
        if name.endswith("pk") and name != "pk":
            return str(objects.by_segment(name[:-3]).pk)
        return str(objects.by_segment(before).pk)

    return [re.sub(r"<(?:(\w+):)?(\w+)>", value, route)]


@pytest.fixture
def world(agent, specialist, manager):
    admin = get_user_model().objects.create_superuser("root", "root@example.com", "pw-for-tests-1")
    category = CategoryFactory(code="fuzz")
    case = open_case(agent, category)
    up = open_case(agent, category, title="Escalated")
    workflow.case_take(case_id=up.pk, actor=agent)
    workflow.case_escalate(case_id=up.pk, actor=agent, handoff=HANDOFF)
    workflow.case_accept(case_id=up.pk, actor=specialist)
    workflow.approval_request(case_id=up.pk, actor=specialist, kind="spend", amount="10", description="Fuzz me")
    article = KnowledgeArticle.objects.create(title="Fuzz article", body="Body", is_published=True)
    CannedReply.objects.create(name="Fuzz reply", body="Hello {requester_name}")  # its admin pages, the picker
    report_tables = {}
    from datetime import date

    from escalations.reports import Filters

    for name, report in REGISTRY.items():
        report_tables[name] = [t.key for t in report.run(Filters(date(2025, 1, 1), date(2025, 2, 1))).tables]
    return {
        "admin": admin,
        "agent": agent,
        "manager": manager,
        "case": case,
        "approval": ApprovalRequest.objects.order_by("pk").first(),
        "article": article,
        "attachment": Attachment.objects.order_by("pk").first() or case,
        "token": token_for(agent, category),
        "report_tables": report_tables,
    }


def token_for(agent, category) -> str:
    case = open_case(agent, category, title="To confirm")
    workflow.case_take(case_id=case.pk, actor=agent)
    workflow.case_resolve(case_id=case.pk, actor=agent, summary="Fixed it")
    return requester_links.confirmation_token(Case.objects.get(pk=case.pk))


def requests_for(path: str, names: list[str], own: set[str], open_page: bool, rng: random.Random) -> list[dict]:
    """The query strings to send to one path: each of the page's own parameters gets
    ``DEPTH`` junk values alone (so one refused value does not hide the next parameter's
    fault), and every junk value goes into all the names at once, with a random name. A
    page the user may not open, or one object's page, gets a few of the all-at-once kind."""
    out = []
    if open_page:
        for i, name in enumerate(sorted(own)):
            for k in range(DEPTH):
                out.append({name: JUNK[(i * DEPTH + k + len(path)) % len(JUNK)]})
    object_page = bool(re.search(r"/\d+/(change|delete|history)?/?$", path))
    for junk in JUNK if open_page and not object_page else JUNK[:4]:
        query = {n: junk for n in names}
        query[f"zz{rng.randrange(10**6)}"] = junk
        out.append(query)
    return out


def fuzz(client: Client, paths: list[str], rng: random.Random) -> list[str]:
    failures = []
    for path in paths:
        url = "/" + path
        first = client.get(url)
        if first.status_code >= 500:
            failures.append(f"{url} (no parameters) -> {first.status_code}")
            continue
        own = harvest(first, all_forms=path.endswith("/add/"))
        if path.startswith("admin/autocomplete"):
            own |= set(AUTOCOMPLETE)
        names = sorted(own | set(COMMON) | (set(ADMIN) if path.startswith("admin/") else set()))
        for query in requests_for(path, names, own, first.status_code == 200, rng):
            if path.startswith("admin/autocomplete"):
                query = {**AUTOCOMPLETE, **query}
            response = client.get(url, query)
            if response.status_code >= 500:
                shown = {k: (v[:40] + "...") if len(v) > 40 else v for k, v in query.items()}
                failures.append(f"{url} {shown!r} -> {response.status_code}")
    return failures


def all_paths(world) -> list[str]:
    objects = Objects(world)
    paths = []
    for route, pattern in walk(get_resolver().url_patterns):
        if pattern.name in ("logout",) or route in ("", "admin/logout/"):
            continue
        paths.extend(fill(route, pattern, objects))
    return sorted(set(paths))


def test_every_url_is_walked(world):
    """The walk reaches the pages the findings named (a guard on the walk itself)."""
    paths = all_paths(world)
    case = world["case"].pk
    for expected in (
        "queue/mine/",
        "admin/reports/volume/",
        "admin/audit/",
        "admin/escalations/scoringpolicy/whatif/",
        "admin/escalations/case/",
        "admin/autocomplete/",
        f"cases/{case}/",
    ):
        assert expected in paths
    assert len(paths) > 200


@pytest.mark.parametrize("who", ["admin", "agent"])
def test_no_get_parameter_gives_a_server_error(world, who):
    client = Client(raise_request_exception=False)
    client.force_login(world[who])
    failures = fuzz(client, all_paths(world), random.Random(14))
    assert not failures, f"{len(failures)} requests failed:\n" + "\n".join(failures[:60])


# -- the review's own examples, each answered 400 with a message -----------------------------


@pytest.mark.parametrize(
    "query, message",
    [
        ({"date_from": "0001-01-01", "date_to": "2025-01-01"}, "Enter a date between"),
        ({"date_from": "2025-01-01", "date_to": "9999-12-31"}, "Enter a date between"),
        ({"date_from": "1990-01-01", "date_to": "2090-01-01"}, "at most 3660 days"),
        ({"date_from": "2020-01-01", "date_to": "2025-01-01", "period": "day"}, "a series has at most"),
    ],
)
def test_report_bounds(client, manager, query, message):
    client.force_login(manager)
    response = client.get("/admin/reports/volume/", query)
    assert response.status_code == 400 and message in response.content.decode()
    assert client.get("/admin/reports/volume/opened.csv", query).status_code == 400


def test_audit_log_and_whatif_dates(client, manager):
    client.force_login(manager)
    response = client.get("/admin/audit/", {"date_from": "0001-01-01", "date_to": "9999-12-31"})
    assert response.status_code == 400 and "Enter a date between" in response.content.decode()
    response = client.get(
        "/admin/escalations/scoringpolicy/whatif/", {"date_from": "9999-12-31", "date_to": "9999-12-31"}
    )
    assert response.status_code == 400 and "Enter a date between" in response.content.decode()


@pytest.mark.parametrize(
    "cursor",
    ["1|0001-01-01T00:00:00+14:00|1", "2|9999-12-31T23:59:59-14:00|5", "1|2025-01-01T00:00:00|99999999999999999999"],
)
def test_crafted_queue_cursor(client, agent, cursor):
    client.force_login(agent)
    response = client.get("/queue/mine/", {"cursor": cursor})
    assert response.status_code == 400 and "page link is damaged" in response.content.decode()


def test_nul_in_admin_filter_search_and_autocomplete(client, manager):
    client.force_login(manager)
    for url, query in [
        ("/admin/escalations/case/", {"status__exact": "a\x00b"}),
        ("/admin/escalations/case/", {"q": "\x00"}),
        ("/admin/autocomplete/", {**AUTOCOMPLETE, "term": "\x00"}),
    ]:
        response = client.get(url, query)
        assert response.status_code == 400 and "NUL" in response.content.decode()
