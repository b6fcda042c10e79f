"""The tamper-evident audit trail: every history row carries an HMAC over its content and
the previous row's hash; a head row per history table anchors the end of each chain."""

from __future__ import annotations

from django.db import models
from simple_history.models import HistoricalRecords

from escalations.audit.chain import append


class AuditedHistory(models.Model):
    """Base of every historical model: the two links of the chain."""

    audit_chained = True  # how ``chain.history_models`` finds them

    prev_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    row_hash = models.CharField(max_length=64, blank=True, default="", editable=False)
    # The action (its catalogue slug) that wrote the row; "rule" for the sweep. Empty on
    # rows written before the column existed.
    history_action = models.CharField(max_length=32, blank=True, default="", db_default="", editable=False)
    # The id of the key (in AUDIT_KEYS) that chained the row, so the key can rotate; empty
    # on rows chained before key ids existed (they verify with AUDIT_LEGACY_KEY).
    audit_key = models.CharField(max_length=16, blank=True, default="", db_default="", editable=False)

    class Meta:
        abstract = True

    def save(self, *args, **kwargs):
        if self._state.adding and not self.row_hash:
            append([self], lambda rows: super(AuditedHistory, self).save(*args, **kwargs))
            return
        super().save(*args, **kwargs)


class _AuditedRecords(HistoricalRecords):
    """``HistoricalRecords`` whose history model may carry indexes of its own (``indexes``)."""

    def __init__(self, *, indexes: tuple = (), **kwargs):
        super().__init__(**kwargs)
        self.extra_indexes = list(indexes)

    def get_meta_options(self, model):
        meta = super().get_meta_options(model)
        if self.extra_indexes:
            meta["indexes"] = [*meta.get("indexes", ()), *self.extra_indexes]
        return meta


def audited_history(**kwargs) -> HistoricalRecords:
    return _AuditedRecords(bases=[AuditedHistory], **kwargs)


class AuditHead(models.Model):
    """Where each history table's chain ends: deleting the newest rows is detected too."""

    table = models.CharField(max_length=100, unique=True)
    last_history_id = models.BigIntegerField(default=0)
    last_hash = models.CharField(max_length=64, blank=True, default="")
    rows = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.table}: {self.rows} rows, ends at {self.last_history_id}"


class AuditSeal(models.Model):
    """A documented maintenance of the trail (who, when, why) after which chains were resealed."""

    at = models.DateTimeField(auto_now_add=True)
    actor = models.CharField(max_length=150)
    reason = models.TextField()
    tables = models.JSONField(default=list)

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor}: {self.reason}"
