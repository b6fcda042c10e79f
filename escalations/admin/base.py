"""What the desk's admin classes share: history pages that can only be read, read-only
record admins, and the sweep-lag warning."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.contrib.auth import get_user_model
from django.core.exceptions import FieldDoesNotExist, PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404
from simple_history.admin import SimpleHistoryAdmin

from escalations.admin.fields import duration_overrides
from escalations.automation import sweep
from escalations.models import Case, Level, Team
from escalations.models.policy import TARGET_MAX
from escalations.selectors import sees_everything, visible_levels
from escalations.selectors.readable import Readable


def visible_choices(model, user):
    """What a form in the admin may offer ``user`` for a field pointing at ``model``: the
    cases, levels, teams and colleagues they may see (everything for managers and
    auditors), or None for models that are not scoped."""
    if model is Case:
        return Case.objects.visible_to(user)
    if sees_everything(user):
        return None
    levels = [lv.pk for lv in visible_levels(user)]
    if model is Level:
        return Level.objects.filter(pk__in=levels)
    if model is Team:
        return Team.objects.filter(level_id__in=levels)
    if model is get_user_model():
        return model.objects.filter(Q(pk=user.pk) | Q(staff_profile__level_id__in=levels)).distinct()
    return None


class ScopedChoicesMixin:
    """Every admin form that picks a case, user, team or level offers only what the
    request user may see, so a select, an autocomplete or a raw id cannot reach (or show
    the title of) a case above their level; a posted id outside the scope is refused as an
    invalid choice."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        scoped = visible_choices(db_field.remote_field.model, request.user)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        scoped = visible_choices(db_field.remote_field.model, request.user)
        if scoped is not None:
            kwargs["queryset"] = scoped
        return super().formfield_for_manytomany(db_field, request, **kwargs)

    def get_changeform_initial_data(self, request):
        """The add page takes initial values from the query string (``?cases=3,4``); a
        relation given something that is not an id would fail while the page renders, so
        it is dropped (the form starts empty for that field)."""
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.model._meta.get_field(name)
            except FieldDoesNotExist:
                continue
            if not field.is_relation or field.target_field is None:
                continue
            try:
                for v in value if isinstance(value, list) else [value]:
                    field.target_field.to_python(v)
            except ValidationError:
                del initial[name]
        return initial


class HistoryAdmin(ScopedChoicesMixin, SimpleHistoryAdmin):
    """History with field diffs; a past version can be read but never saved.

    ``SIMPLE_HISTORY_REVERT_DISABLED`` only hides the revert button: simple_history's
    ``history_form_view`` still saves a POSTed form, and builds it without
    ``change=True``, so even a view-only user's POST would write an old version back
    (bypassing the state machines). Refuse every POST there.
    """

    # every duration typed and shown as "15 min", "4 h", "2 d", bounded (no 1e300 minutes)
    formfield_overrides = duration_overrides(max_value=TARGET_MAX)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Field changes in words: names for related rows ("assignee: — → Sam Specialist"),
        not simple-history's objects, which read "Deleted user (pk=None)" for an unassignment."""
        readable, previous = Readable(), None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(current, foreign_keys_are_objs=False)
                previous.history_delta_changes = [
                    {"field": label[:1].upper() + label[1:], "old": old, "new": new}
                    for label, old, new in readable.changes(self.model, delta)
                ]
            previous = current

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied("Reverting to a past version is disabled.")
        return super().history_form_view(request, object_id, version_id, extra_context)


class ReadOnlyMixin(ScopedChoicesMixin):
    """For rows only the workflow layer or the automation writes: view, never add, change
    or delete (a delete would erase the audit trail)."""

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.StackedInline):
    extra = 0
    can_delete = False
    show_change_link = True


def stale_sweep_message() -> str | None:
    """Why the automation looks stopped, or None while the heartbeat is fresh."""
    beat, lag = sweep.sweep_lag()
    limit = settings.ESCALATIONS["SWEEP_STALE_MINUTES"]
    if beat is None:
        return "The SLA sweep has never run: no rule fires and no breach is recorded until a worker (qcluster) runs it."
    if lag > limit:
        return (
            f"The SLA sweep last ran {lag:.0f} min ago (more than {limit} min): rules and "
            "breaches are not being processed; check the task worker (qcluster)."
        )
    return None


def warn_if_sweep_stale(request) -> None:
    text = stale_sweep_message()
    if text is not None:
        messages.error(request, f"The sweep is late. {text}")


class CaseNumberSearchMixin:
    """A search for a number (42 or #42) finds that case; other text uses ``search_fields``.

    An ``=id`` search field would send a word to an integer column and fail."""

    case_lookup = "case_id"

    def get_search_results(self, request, queryset, search_term):
        number = search_term.strip().removeprefix("#")
        if number.isdigit() and len(number) <= 18:
            return queryset.filter(**{self.case_lookup: int(number)}), False
        return super().get_search_results(request, queryset, search_term)


class CaseRowsMixin(ScopedChoicesMixin, CaseNumberSearchMixin):
    """Admins of cases and of rows that belong to a case: staff on a level see in the admin
    exactly the cases they see on the staff pages (``Case.objects.visible_to``: their level
    and below, and cases they were invited to); managers and auditors see all. Out of scope
    is "not found": the change page and the buttons redirect as for a missing row, and the
    history pages answer 404 (simple_history would otherwise rebuild the row from its
    history)."""

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        if sees_everything(request.user):
            return qs
        return qs.filter(**{f"{self.case_lookup}__in": Case.objects.visible_to(request.user).values("pk")})

    def _in_scope(self, request, object_id) -> None:
        if self.get_object(request, unquote(object_id)) is None:
            raise Http404("No such row, or not one you may see.")

    def history_view(self, request, object_id, extra_context=None):
        self._in_scope(request, object_id)
        return super().history_view(request, object_id, extra_context)

    def set_history_delta_changes(self, request, historical_records, foreign_keys_are_objs=True):
        """Field changes in words: names for related rows ("assignee: — → Sam Specialist"),
        not simple-history's objects, which read "Deleted user (pk=None)" for an unassignment."""
        readable, previous = Readable(), None
        for current in historical_records:
            if previous is not None:
                delta = previous.diff_against(current, foreign_keys_are_objs=False)
                previous.history_delta_changes = [
                    {"field": label[:1].upper() + label[1:], "old": old, "new": new}
                    for label, old, new in readable.changes(self.model, delta)
                ]
            previous = current

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method != "POST":  # a POST is refused by HistoryAdmin whatever the row
            self._in_scope(request, object_id)
        return super().history_form_view(request, object_id, version_id, extra_context)
