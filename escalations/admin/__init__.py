"""The managers' and back-office admin. Importing the modules registers their classes."""

from escalations.admin import (  # noqa: F401
    audit,
    automation,
    calendars,
    cases,
    intelligence,
    mail,
    organisation,
    policy,
    portal,
    records,
)
