"""The text model: category, priority and resolving level suggested from a case's words."""
