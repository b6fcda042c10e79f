"""Importers of real service-desk event logs as historical cases (``manage.py import_events``)."""
from . import bpic2013, uci
from .common import BadRow, LogFormatError, Summary
from .run import run_import

FORMATS = {bpic2013.SOURCE: bpic2013, uci.SOURCE: uci}

__all__ = ["FORMATS", "BadRow", "LogFormatError", "Summary", "run_import"]
