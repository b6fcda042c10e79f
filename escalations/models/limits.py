"""How long each kind of text may be (documented in the README, "Untrusted input").

A text column with no limit lets one form post, admin save or import put a megabyte in a
row that every case page then reads and searches. Every ``TextField`` of the desk is made
by ``text_field``: the limit reaches the form and the admin as ``max_length`` (a textarea
``maxlength`` and a clear error) and the model as a validator (``full_clean``). The
database keeps no CHECK, so older or imported rows over a limit stay readable; searches
read a bounded prefix (``KnowledgeArticle.search_vector``).
"""

from __future__ import annotations

from django.core.validators import MaxLengthValidator
from django.db import models

TEXT = 10_000  # what people type: descriptions, notes, reasons, handoffs, reviews (forms' MAX_TEXT)
ARTICLE = 50_000  # a knowledge article's body
SYSTEM = 100_000  # what the desk writes itself: notices' bodies, delivery errors
SEARCH_PREFIX = 100_000  # characters of an article (title + body) that its search vector reads


def text_field(limit: int = TEXT, **kwargs) -> models.TextField:
    return models.TextField(max_length=limit, validators=[MaxLengthValidator(limit)], **kwargs)
