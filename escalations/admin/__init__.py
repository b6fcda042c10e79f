"""The managers' and back-office admin. Importing the modules registers their classes."""

from escalations.admin import (  # noqa: F401
    audit,
    authority_changes,
    automation,
    calendars,
    canned,
    cases,
    intelligence,
    mail,
    monitoring,
    organisation,
    policy,
    portal,
    preferences,
    records,
)
