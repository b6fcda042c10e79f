"""Query strings the database cannot take are answered 400 before any view runs.

PostgreSQL refuses text holding a NUL character ("A string literal cannot contain NUL"),
and the admin's search, list filters and autocomplete pass GET parameters straight into
queries, so a ``%00`` anywhere in a URL used to end in a 500. Forms already refuse NUL in
the fields they read (``ProhibitNullCharactersValidator``); this closes the class for
every URL, including parameters no form reads and pages added later.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBadRequest

MESSAGE = "The address contains a NUL character (%00), which no field accepts. Remove it and try again."


class RejectNulMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest):
        if "\x00" in request.path or any("\x00" in k or any("\x00" in v for v in vs) for k, vs in request.GET.lists()):
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)
