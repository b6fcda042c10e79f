"""Read-only search: similar cases at intake and on the case page, and the knowledge base.

PostgreSQL uses full-text search (ranked); SQLite falls back to ``icontains`` per word.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import F, Q, QuerySet
from django.http import Http404

from escalations.models import OPEN_STATUSES, Case, CaseStatus, KnowledgeArticle
from escalations.selectors.cases import visible_cases

# -- search: similar cases and knowledge -----------------------------------------------------

_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)  # words of three letters or more
STOP_WORDS = frozenset("the and for with not from this that have has cannot can't does when after into".split())


def keywords(*texts: str, limit: int = 8) -> list[str]:
    seen: list[str] = []
    for text in texts:
        for w in _WORD.findall((text or "").lower()):
            if w not in STOP_WORDS and w not in seen:
                seen.append(w)
    return seen[:limit]


def _text_match(
    qs: QuerySet, fields: tuple[str, ...], words: list[str], any_word: bool, stored: str | None = None
) -> QuerySet:
    """PostgreSQL full-text search (ranked); elsewhere a plain ``icontains`` per word.

    ``stored`` names a column holding the rows' vector (knowledge articles: kept by a
    trigger from a bounded prefix, GIN-indexed); without it the vector is built from
    ``fields`` per request, which only short fields (case titles) may do."""
    if not words:
        return qs.none()
    if connection.vendor == "postgresql":
        from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

        query = SearchQuery(words[0], search_type="plain", config="english")
        for w in words[1:]:
            term = SearchQuery(w, config="english")
            query = (query | term) if any_word else (query & term)
        if stored:
            ranked = qs.annotate(rank=SearchRank(F(stored), query))
            return ranked.filter(**{stored: query}).order_by("-rank", "-pk")
        vector = SearchVector(*fields, config="english")
        ranked = qs.annotate(document=vector, rank=SearchRank(vector, query))
        return ranked.filter(document=query).order_by("-rank", "-pk")
    cond = Q()
    for w in words:
        term = Q()
        for f in fields:
            term |= Q(**{f"{f}__icontains": w})
        cond = (cond | term) if any_word else (cond & term)
    return qs.filter(cond).order_by("-pk")


# Similar cases are looked for among the newest rows that fit (category, status), which
# the primary-key index hands over without reading the rest of the table: the cost stays
# flat at a million cases, and recent cases are the likeliest duplicates anyway.
SIMILAR_WINDOW = 500


def _newest(qs: QuerySet[Case], window: int = SIMILAR_WINDOW) -> QuerySet[Case]:
    return Case.objects.filter(pk__in=qs.order_by("-pk").values("pk")[:window])


def similar_open_cases(
    user, *, title: str, description: str = "", category_id: int | None = None, limit: int = 5
) -> list[Case]:
    """Open cases that may be the same issue, shown at intake before a duplicate is opened."""
    words = keywords(title, description)
    if not words:
        return []
    qs = visible_cases(user).filter(status__in=OPEN_STATUSES)
    if category_id:
        qs = qs.filter(category_id=category_id)
    candidates = _newest(qs).select_related("level").only("id", "title", "status", "level__code", "opened_at")
    return list(_text_match(candidates, ("title",), words, any_word=True)[:limit])


def similar_resolved_cases(case: Case, user, limit: int = 5) -> list[Case]:
    words = keywords(case.title)
    if not words:
        return []
    qs = (
        visible_cases(user)
        .filter(category_id=case.category_id, status__in=[CaseStatus.RESOLVED, CaseStatus.CLOSED])
        .exclude(pk=case.pk)
    )
    candidates = _newest(qs).only("id", "title", "status", "resolution_summary", "resolved_at")
    return list(_text_match(candidates, ("title",), words, any_word=True)[:limit])


ARTICLE_VECTOR = "search_vector"  # KnowledgeArticle's stored vector (migration 0028)
# Lists of articles leave out the body (up to limits.ARTICLE characters, or more in rows
# written before the limit) and the vector; the article's own page reads them.
ARTICLE_HEAVY = ("body", "search_vector")


def knowledge_search(q: str = "", limit: int = 50) -> list[KnowledgeArticle]:
    qs = KnowledgeArticle.objects.filter(is_published=True).select_related("category").defer(*ARTICLE_HEAVY)
    words = keywords(q, limit=10)
    if not q.strip():
        return list(qs.order_by("title")[:limit])
    return list(_text_match(qs, ("title", "body"), words, any_word=False, stored=ARTICLE_VECTOR)[:limit])


def suggested_articles(case: Case, limit: int = 5) -> list[KnowledgeArticle]:
    """Published articles that match the case's words and are not linked yet."""
    qs = KnowledgeArticle.objects.filter(is_published=True).exclude(cases=case).defer(*ARTICLE_HEAVY)
    words = keywords(case.title, case.description)
    return list(_text_match(qs, ("title", "body"), words, any_word=True, stored=ARTICLE_VECTOR)[:limit])


def linked_articles(case: Case) -> list[KnowledgeArticle]:
    return list(case.articles.defer(*ARTICLE_HEAVY).order_by("title"))


def article_for(pk: int) -> KnowledgeArticle:
    article = KnowledgeArticle.objects.filter(pk=pk, is_published=True).select_related("category", "author").first()
    if article is None:
        raise Http404("No such article.")
    return article


def article_cases(article: KnowledgeArticle, user, limit: int = 20) -> list[Case]:
    return list(visible_cases(user).filter(articles=article).only("id", "title", "status").order_by("-pk")[:limit])


def articles_for_text(*texts: str, limit: int = 5) -> list[KnowledgeArticle]:
    """Published articles that match any of the words a requester typed (the portal's
    suggestions before a request is sent), best first."""
    qs = KnowledgeArticle.objects.filter(is_published=True).select_related("category")
    return list(_text_match(qs, ("title", "body"), keywords(*texts, limit=12), any_word=True)[:limit])
