"""The managers' and back-office admin. Importing the modules registers their classes."""
from . import audit, automation, calendars, cases, intelligence, organisation, policy, records  # noqa: F401
from .actions import CASE_ACTIONS

__all__ = ["CASE_ACTIONS"]
