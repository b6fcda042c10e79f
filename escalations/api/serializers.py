"""What the API shows of a case and its notes, and the shapes it accepts. Reading only:
input to actions is parsed by the catalogue's own forms (``views.cases``), so the API
and the staff pages accept exactly the same things."""

from __future__ import annotations

from rest_framework import serializers

from escalations.models import Case, CaseSuggestion, Note, NoteKind


class NoteSerializer(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", default=None, read_only=True)

    class Meta:
        model = Note
        fields = ["id", "kind", "author", "sender", "body", "created_at"]


class CaseSerializer(serializers.ModelSerializer):
    level = serializers.CharField(source="level.code", read_only=True)
    category = serializers.CharField(source="category.code", read_only=True)
    team = serializers.CharField(source="team.name", default=None, read_only=True)
    assignee = serializers.CharField(source="assignee.username", default=None, read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "title",
            "status",
            "priority",
            "level",
            "category",
            "team",
            "assignee",
            "requester_name",
            "requester_email",
            "impact",
            "urgency",
            "opened_at",
            "response_due_at",
            "resolution_due_at",
            "resolved_at",
            "closed_at",
            "version",
        ]
        read_only_fields = fields


class CaseDetailSerializer(CaseSerializer):
    notes = serializers.SerializerMethodField()
    actions = serializers.SerializerMethodField()
    suggestion = serializers.SerializerMethodField()

    class Meta(CaseSerializer.Meta):
        fields = CaseSerializer.Meta.fields + ["description", "resolution_summary", "notes", "actions", "suggestion"]
        read_only_fields = fields

    def get_suggestion(self, case) -> dict | None:
        """The text model's suggestion at intake (category id, priority, level code, each with
        its confidence and words) and the decision on it; accept or change it with the
        ``classify`` action."""
        s = CaseSuggestion.objects.filter(case=case).select_related("level").first()
        if s is None:
            return None
        return {
            "category": s.category_id,
            "category_confidence": s.category_confidence,
            "priority": s.priority,
            "priority_confidence": s.priority_confidence,
            "level": s.level.code if s.level_id else None,
            "level_confidence": s.level_confidence,
            "words": s.words,
            "decision": s.decision,
            "routed": s.routed,
        }

    def get_notes(self, case) -> list[dict]:
        notes = case.notes.select_related("author").order_by("-created_at", "-pk")[:100]
        return NoteSerializer(reversed(list(notes)), many=True).data

    def get_actions(self, case) -> list[str]:
        """The action slugs this user may take on the case now (POST .../actions/<slug>/)."""
        return sorted(self.context.get("available", ()))


# -- the case read, without a serializer per request ------------------------------------------
# ``CaseDetailSerializer`` describes the read (the schema) and renders the other answers;
# ``GET /api/v1/cases/<id>/`` shapes the plain rows of ``selectors.case_card`` here instead:
# building a model serializer's two dozen fields for each read cost more than the read's
# queries. ``tests/test_api.py`` checks that both give the same answer.

_when = serializers.DateTimeField()  # ISO 8601 in the current time zone, as the serializers write it
_DATES = ("opened_at", "response_due_at", "resolution_due_at", "resolved_at", "closed_at")
_PLAIN = (
    "id",
    "title",
    "status",
    "priority",
    "requester_name",
    "requester_email",
    "impact",
    "urgency",
    "version",
    "description",
    "resolution_summary",
)


def _date(value):
    return None if value is None else _when.to_representation(value)


def case_detail(row: dict, notes: list[dict], available=()) -> dict:
    """``CaseDetailSerializer``'s answer from ``selectors.case_card``'s rows."""
    out = {name: row[name] for name in _PLAIN}
    out.update(
        level=row["level__code"],
        category=row["category__code"],
        team=row["team__name"],
        assignee=row["assignee__username"],
    )
    out.update((name, _date(row[name])) for name in _DATES)
    out["notes"] = [
        {
            "id": n["id"],
            "kind": n["kind"],
            "author": n["author__username"],
            "sender": n["sender"],
            "body": n["body"],
            "created_at": _date(n["created_at"]),
        }
        for n in notes
    ]
    out["actions"] = sorted(available)
    out["suggestion"] = None
    if row["suggestion__id"] is not None:
        out["suggestion"] = {
            "category": row["suggestion__category_id"],
            "category_confidence": row["suggestion__category_confidence"],
            "priority": row["suggestion__priority"],
            "priority_confidence": row["suggestion__priority_confidence"],
            "level": row["suggestion__level__code"],
            "level_confidence": row["suggestion__level_confidence"],
            "words": row["suggestion__words"],
            "decision": row["suggestion__decision"],
            "routed": row["suggestion__routed"],
        }
    return {name: out[name] for name in CaseDetailSerializer.Meta.fields}  # the serializer's order


class CasePageSerializer(serializers.Serializer):
    results = CaseSerializer(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class NoteInputSerializer(serializers.Serializer):
    kind = serializers.ChoiceField(choices=[NoteKind.INTERNAL, NoteKind.PUBLIC], default=NoteKind.INTERNAL)
    body = serializers.CharField(max_length=20000)
    version = serializers.IntegerField(required=False, min_value=0, help_text="Needed for a public update.")


class ActionInputSerializer(serializers.Serializer):
    """The fields of the action's form (see the staff page's panel); ``version`` for
    actions on a case, so a stale request gets 409."""

    version = serializers.IntegerField(required=False, min_value=0)


class ActionResultSerializer(serializers.Serializer):
    detail = serializers.CharField()
    case = CaseSerializer()


class IntakeResultSerializer(serializers.Serializer):
    accepted = serializers.IntegerField()
    results = serializers.ListField(child=serializers.DictField())
