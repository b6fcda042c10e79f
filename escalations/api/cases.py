"""Cases: list and read what the user may see, open one, add a note or a public
update, and take any action of the catalogue on one (``POST .../actions/<slug>/``),
each through its workflow function."""

from __future__ import annotations

from django.db import transaction
from django.http import QueryDict
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from escalations import selectors, workflow
from escalations.actions import catalogue
from escalations.api import pagination
from escalations.api.errors import workflow_error
from escalations.api.serializers import (
    ActionInputSerializer,
    ActionResultSerializer,
    CaseDetailSerializer,
    CasePageSerializer,
    CaseSerializer,
    NoteInputSerializer,
    NoteSerializer,
    case_detail,
)
from escalations.models import ApprovalRequest, Case, CaseStatus, Collaboration, NoteKind

READ, ACT, INTAKE = "read", "act", "intake"


def _case(user, pk) -> Case:
    return selectors.case_for(user, pk)


def _form_data(data) -> QueryDict | dict:
    """A JSON object as form data: lists stay lists, scalars become text, as a browser sends them."""
    if not isinstance(data, dict):
        raise ValidationError({"detail": "The body must be a JSON object of the action's fields."})
    out = QueryDict(mutable=True)
    for key, value in data.items():
        values = value if isinstance(value, list) else [value]
        out.setlist(str(key), ["on" if v is True else "" if v is False or v is None else str(v) for v in values])
    return out


def _bound(spec, case, user, data):
    """The action's form over the JSON body; a field left out takes the form's default (as the page pre-fills it)."""
    form = spec.make_form(case, user, _form_data(data))
    for name, field in form.fields.items():
        initial = form.initial.get(name, field.initial)
        if name not in form.data and initial is not None and name != "version":
            form.data.setlist(name, [str(getattr(initial, "value", initial))])
    return form


def _form_errors(form) -> Response:
    errors = {k: " ".join(str(m) for m in v) for k, v in form.errors.items()}
    return Response({"detail": "Please correct the marked fields.", "errors": errors}, status=400)


def _writer(user) -> None:
    if selectors.is_read_only(user):
        raise PermissionDenied("Your role changes nothing (read only).")


# What an action acts on: the case itself, or one of its approvals or collaborations, named
# in the body ({"approval": id} or {"collaboration": id}).
TARGETS = {"case": None, "approval": ApprovalRequest, "collaboration": Collaboration}


def _target(spec, case: Case, data):
    model = TARGETS[spec.target]
    if model is None:
        return case
    raw = data.get(spec.target) if isinstance(data, dict) else None
    obj = model.objects.filter(pk=raw, case=case).first() if str(raw or "").isdigit() else None
    if obj is None:
        raise NotFound(f'Name the {spec.target} of case #{case.pk} this acts on: {{"{spec.target}": id}}.')
    return obj


class CaseList(APIView):
    required_scopes = (READ,)

    @extend_schema(
        parameters=[
            OpenApiParameter("cursor", str, description="From the previous page's next_cursor."),
            OpenApiParameter("limit", int, description="1 to 200 (default API_PAGE_SIZE)."),
            OpenApiParameter("status", str, enum=CaseStatus.values),
        ],
        responses=CasePageSerializer,
        operation_id="cases_list",
    )
    def get(self, request):
        """Cases the user may see, newest first, in keyset pages."""
        limit = pagination.page_size(request.query_params.get("limit"))
        after = pagination.decode(request.query_params.get("cursor"))
        qs = selectors.visible_cases(request.user).select_related("level", "category", "team", "assignee")
        wanted = request.query_params.get("status")
        if wanted:
            if wanted not in CaseStatus.values:
                raise ValidationError({"status": f"Choose one of {', '.join(CaseStatus.values)}."})
            qs = qs.filter(status=wanted)
        if after is not None:
            qs = qs.filter(pk__lt=after)
        rows = list(qs.order_by("-pk")[: limit + 1])
        more = len(rows) > limit
        rows = rows[:limit]
        return Response(
            {
                "results": CaseSerializer(rows, many=True).data,
                "next_cursor": pagination.encode(rows[-1].pk) if more else None,
            }
        )

    @extend_schema(request=None, responses={201: CaseDetailSerializer})
    def post(self, request):
        """Open a case: the fields of the staff "Open a case" form (category by id)."""
        if not request.auth.scope_set & {ACT, INTAKE}:
            raise PermissionDenied("Opening a case needs the act or intake scope.")
        _writer(request.user)
        spec = catalogue.ACTIONS["open"]
        form = _bound(spec, None, request.user, request.data)
        if not form.is_valid():
            return _form_errors(form)
        case = spec.perform(None, request.user, form)
        return Response(CaseDetailSerializer(_case(request.user, case.pk)).data, status=status.HTTP_201_CREATED)


class CaseDetail(APIView):
    required_scopes = (READ,)

    @extend_schema(responses=CaseDetailSerializer)
    def get(self, request, pk: int):
        row, notes = selectors.case_card(request.user, pk)
        available = ()
        if ACT in request.auth.scope_set:  # the catalogue decides on the case itself
            available = catalogue.available(_case(request.user, pk), request.user)
        return Response(case_detail(row, notes, available))


class CaseNotes(APIView):
    required_scopes = (ACT,)

    @extend_schema(request=NoteInputSerializer, responses={201: NoteSerializer})
    def post(self, request, pk: int):
        """An internal note, or (``kind: public``, with ``version``) an update e-mailed to the requester."""
        _writer(request.user)
        case = _case(request.user, pk)
        parsed = NoteInputSerializer(data=request.data)
        parsed.is_valid(raise_exception=True)
        d = parsed.validated_data
        if d["kind"] == NoteKind.PUBLIC:
            if "version" not in d:
                raise ValidationError({"version": "A public update needs the case version you read."})
            note = workflow.case_public_update(
                case_id=case.pk, actor=request.user, body=d["body"], version=d["version"]
            )
        else:
            note = workflow.case_note(case_id=case.pk, actor=request.user, body=d["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


class CaseAction(APIView):
    required_scopes = (ACT,)

    @extend_schema(
        request=ActionInputSerializer,
        responses={200: ActionResultSerializer},
        description="Any case action of the catalogue: " + ", ".join(sorted(catalogue.ACTIONS)) + ". The body "
        "holds the fields of the action's form (as on the case page) and `version`.",
    )
    def post(self, request, pk: int, slug: str):
        spec = catalogue.ACTIONS.get(slug)
        if spec is None or spec.target not in TARGETS:
            raise NotFound(f"No case action {slug[:40]!r}; see the case's 'actions' for the ones you may take.")
        _writer(request.user)
        case = _case(request.user, pk)
        if not spec.role_allows(request.user):
            raise PermissionDenied(f"Your role may not {spec.verb}.")
        obj = _target(spec, case, request.data)
        form = _bound(spec, case, request.user, request.data)
        if not form.is_valid():
            return _form_errors(form)
        try:
            with transaction.atomic():
                result = spec.perform(obj, request.user, form)
        except workflow.WorkflowError as exc:
            return workflow_error(exc)
        fresh = Case.objects.select_related("level", "category", "team", "assignee").get(pk=case.pk)
        return Response({"detail": spec.message(result), "case": CaseSerializer(fresh).data})
