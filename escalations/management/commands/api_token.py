"""``api_token create --user NAME --scopes intake,read [--name TEXT]`` prints a new token
once (only its digest is kept); ``api_token revoke PREFIX_OR_ID``; ``api_token list``."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils import timezone

from escalations.models import ApiToken
from escalations.models.api import digest


class Command(BaseCommand):
    help = "Create, list or revoke REST API tokens."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="verb", required=True)
        create = sub.add_parser("create")
        create.add_argument("--user", required=True)
        create.add_argument("--scopes", required=True, help="Comma-separated: read, intake, act.")
        create.add_argument("--name", default="")
        revoke = sub.add_parser("revoke")
        revoke.add_argument("token", help="The token's id, its prefix (esc_...), or the token itself.")
        sub.add_parser("list")

    def handle(self, *args, verb, **opts):
        return getattr(self, f"_{verb}")(**opts)

    def _create(self, *, user, scopes, name, **_):
        owner = get_user_model().objects.filter(username=user).first()
        if owner is None:
            raise CommandError(f"There is no user {user!r}.")
        if not owner.is_active:
            raise CommandError(f"The user {user!r} is inactive; their token would never work.")
        try:
            _, text = ApiToken.objects.issue(user=owner, scopes=scopes.split(","), name=name)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(text)
        self.stderr.write("Keep it now: only its digest is stored, it cannot be shown again.")

    def _revoke(self, *, token, **_):
        if token.startswith("esc_"):
            match = Q(key_hash=digest(token)) | Q(prefix=token[:12])
        else:
            match = Q(pk=int(token) if token.isdigit() else 0)
        rows = list(ApiToken.objects.filter(match, revoked_at__isnull=True))
        if len(rows) != 1:
            raise CommandError(f"{len(rows)} active tokens match {token[:12]!r}; give the id (api_token list).")
        row = rows[0]
        row.revoked_at = timezone.now()
        row._change_reason = "API token revoked"
        row.save()
        self.stdout.write(f"Revoked {row}.")

    def _list(self, **_):
        for row in ApiToken.objects.select_related("user").order_by("pk"):
            state = f"revoked {row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "active"
            self.stdout.write(f"{row.pk}\t{row.prefix}…\t{row.user}\t{row.scopes}\t{row.name}\t{state}")
