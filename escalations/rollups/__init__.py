"""Report rollups kept by the database in the facts' own transactions (see ``schema``);
``build`` creates, rebuilds and checks them, ``read`` is what the reports use."""
