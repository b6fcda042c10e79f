"""Test settings: the production settings with tasks run inline and fast hashing."""

from project.settings import *  # noqa: F403
from project.settings import Q_CLUSTER

Q_CLUSTER = {**Q_CLUSTER, "sync": True}
# The test client's login() passes no request, which django-axes needs; the throttling
# test switches it back on.
AXES_ENABLED = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
