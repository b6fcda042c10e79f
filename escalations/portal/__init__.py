"""The requester portal (``/portal/``): sign-in by e-mailed link, the requester's cases in
plain words, replies with files, new requests with knowledge suggestions, and the
satisfaction survey. A delivery layer: it parses input and calls the workflow."""
