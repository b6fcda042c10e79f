"""Importers of real service-desk event logs as historical cases (``manage.py import_events``)."""

from escalations.importers import bpic2013, uci
from escalations.importers.common import BadRow, LogFormatError, Summary
from escalations.importers.run import run_import

FORMATS = {bpic2013.SOURCE: bpic2013, uci.SOURCE: uci}

__all__ = ["FORMATS", "BadRow", "LogFormatError", "Summary", "run_import"]
