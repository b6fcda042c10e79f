"""Linking knowledge articles to cases (closed cases too: knowledge outlives the case)."""

from __future__ import annotations

from django.db import transaction

from escalations.domain import authority
from escalations.models import Case, KnowledgeArticle
from escalations.workflow.actors import Actor, may
from escalations.workflow.base import InvalidAction, NotAllowed, action, as_id, lock, save


@action("link-article")
def knowledge_link(*, case_id: int, article_id: int, actor: Actor, linked: bool = True) -> KnowledgeArticle:
    """Link (or with ``linked=False`` unlink) an article; the article's history records who and why."""
    with transaction.atomic():
        case = Case.objects.select_related("level").filter(pk=as_id(case_id, "case")).first()
        if case is None:
            raise InvalidAction(f"There is no case #{case_id}.")
        if not may(actor, authority.can_work, case):
            raise NotAllowed(f"You may not change the knowledge linked to case #{case.pk}.")
        article = lock(KnowledgeArticle, article_id, "article")
        is_linked = article.cases.filter(pk=case.pk).exists()
        if is_linked == linked:
            raise InvalidAction(f"'{article.title}' is {'already' if linked else 'not'} linked to case #{case.pk}.")
        (article.cases.add if linked else article.cases.remove)(case)
        save(article, actor, f"{'Linked to' if linked else 'Unlinked from'} case #{case.pk}")
    return article
