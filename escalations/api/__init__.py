"""The REST API under ``/api/v1/`` (Django REST framework, schema by drf-spectacular).

Delivery only: serializers and the catalogue's forms parse, the workflow acts, views
render. Authentication is a per-user token with scopes (``auth``); what a token's user
may see and do is what they may see and do on the staff pages.
"""
