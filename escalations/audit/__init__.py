"""The tamper-evident audit trail: the chain over the history tables (``chain``), its
models (``records``), verification (``verify``), the maintenance path (``maintenance``)
and the PostgreSQL guards (``guards``). Below the domain models: it knows history
tables, not cases."""
