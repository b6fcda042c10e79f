"""Django's ModelBackend with each user's permission set kept per process for the
configuration cache's few seconds.

Every staff request asks ``has_perm`` (may this user work cases?), and Django answers it
with two joined queries per request. Roles change rarely: the set is cached per process
(``config_cache``), the process that changes a user, a group or their permissions drops
the cache at once (``EscalationsConfig.ready``), and other processes follow within the
TTL. Object-level checks and inactive users go through Django's path unchanged.
"""

from __future__ import annotations

from django.contrib.auth.backends import ModelBackend

from escalations.core import config_cache


class CachedPermissionsBackend(ModelBackend):
    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            key = ("permissions", user_obj.pk, user_obj.is_superuser)
            user_obj._perm_cache = config_cache.cached(
                key, lambda: super(CachedPermissionsBackend, self).get_all_permissions(user_obj)
            )
        return user_obj._perm_cache
