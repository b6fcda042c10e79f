"""E-mail in and out, threaded: ``parse`` (pure), ``intake`` (one message, exactly once),
``fetch`` (IMAP polling), ``config`` (``MAILBOX_URLS``). Outgoing threading headers are
set by the outbox (``escalations.notifications``)."""
