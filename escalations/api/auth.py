"""Token authentication and scopes.

``Authorization: Bearer <token>`` (or ``Token <token>``): the token's SHA-256 digest is
looked up among the active tokens; the request runs as the token's user, with
``request.auth`` the token row. Each view names the scope it needs (``required_scopes``:
any one of them suffices); the user's role still decides what the workflow allows.
"""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from escalations.api import token_lookup
from escalations.models import ApiToken, Level
from escalations.models.api import digest

# A token's last use is written at most this often (a busy token would otherwise write every request).
TOUCH_SECONDS = 60


class TokenAuthentication(authentication.BaseAuthentication):
    keywords = ("bearer", "token")

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower().decode(errors="replace") not in self.keywords:
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed("Send 'Authorization: Bearer <token>' with one token.")
        try:
            text = header[1].decode()
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("The token is not valid.") from None
        # One hand-written statement (``token_lookup``): the ORM compiled it anew on every request.
        token = token_lookup.active_token(digest(text))
        if token is None:
            raise exceptions.AuthenticationFailed("The token is unknown, revoked, or its user is inactive.")
        # Every case endpoint needs the user's level (visibility): from the ladder every
        # process keeps (config_cache) rather than one more join.
        profile = getattr(token.user, "staff_profile", None)
        level = profile and next((lv for lv in Level.objects.ladder() if lv.pk == profile.level_id), None)
        if level is not None:  # a level newer than the cached ladder is read when first used
            profile.level = level
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > TOUCH_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        return token.user, token

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasScope(permissions.BasePermission):
    """The view's ``required_scopes``: the token must carry one of them."""

    message = "This token lacks the scope this endpoint needs."

    def has_permission(self, request, view) -> bool:
        token = request.auth
        if not isinstance(token, ApiToken):
            raise exceptions.NotAuthenticated("Authenticate with 'Authorization: Bearer <token>'.")
        needed = getattr(view, "required_scopes", ())
        if needed and not token.scope_set & set(needed):
            self.message = f"This token lacks the scope this endpoint needs ({' or '.join(needed)})."
            return False
        return True


class TokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token: HTTP bearer."""

    target_class = "escalations.api.auth.TokenAuthentication"
    name = "token"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "python manage.py api_token create ..."}
