"""Managers' reports. Each module registers one report; ``REGISTRY`` lists them in order.
The admin pages (``escalations.admin.reports``) and ``manage.py report`` both read it."""

from escalations.reports import (  # noqa: F401  (registers)
    bottlenecks,
    breakdown,
    flow,
    forecast,
    live,
    major,
    quality,
    resolution,
    reviews,
    satisfaction,
    sla,
    speed,
    suggestions,
    volume,
    waiting,
)
from escalations.reports.base import REGISTRY, Chart, Column, FilterError, Filters, Report, Result, Table

__all__ = ["REGISTRY", "Chart", "Column", "FilterError", "Filters", "Report", "Result", "Table"]
