"""The import loop: check the whole log first, then stream its incidents, skip those
already imported, replay the rest and write them in batches inside one transaction for
the file: cases, handoffs, and their history rows chained onto the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from django.db import transaction

from escalations.audit import chain
from escalations.core.bulk import bulk_insert
from escalations.importers import sources
from escalations.importers.common import Context, Incident, LogFormatError, LogReader, Summary
from escalations.importers.replay import Replay, Replayed
from escalations.models import Case, CaseAttribute, Escalation, snapshots

BATCH = 500
CaseHistory = Case.history.model
EscalationHistory = Escalation.history.model
ESC_TRACKED = [f.attname for f in EscalationHistory.tracked_fields]


def _as_stored(rows: list) -> list:
    """Float fields as the database returns them (a default of 0 comes back as 0.0), so the
    audit chain hashes what ``verify`` will read."""
    if rows:
        floats = [f for f in type(rows[0])._meta.concrete_fields if f.get_internal_type() == "FloatField"]
        for row in rows:
            for f in floats:
                setattr(row, f.attname, f.to_python(getattr(row, f.attname)))
    return rows


class ImportRefused(LogFormatError):
    """The file has bad rows: nothing was written. ``summary.bad_rows`` lists them all."""

    def __init__(self, summary: Summary):
        self.summary = summary
        super().__init__(f"{len(summary.bad_rows):,} bad rows; nothing was imported.")


def run_import(
    fmt,
    path: str,
    progress: Callable[[LogReader, Summary], None] | None = None,
    batch_size: int = BATCH,
    skip_bad_rows: bool = False,
) -> Summary:
    """``fmt`` is a format module (``bpic2013`` or ``uci``) with ``SOURCE``, ``LABEL`` and
    ``incidents(reader, bad)``.

    All or nothing per file: the whole file is read and checked first (no writes). A
    damaged file (``LogFormatError``) is refused, and so is a file with any bad row
    (``ImportRefused``, listing every one). Then every incident is written in one
    transaction, so a failure half-way (the database restarting, a disk full) leaves the
    database as it was and a re-run starts from scratch.

    ``skip_bad_rows`` (an explicit opt-in, the command's ``--skip-bad-rows``) writes a file
    with bad rows anyway, leaving those rows out: an incident with a bad row is imported
    without that row's event, and named in ``summary.incomplete``; a later run skips it by
    id, so it stays incomplete until its case is deleted and the corrected file imported."""
    checked = Summary(fmt.SOURCE)
    reader = LogReader(path)
    try:
        for _incident in fmt.incidents(reader, checked.bad_rows.append):
            pass
    finally:
        reader.close()
    checked.bad_rows.sort(key=lambda b: b.line)
    if checked.bad_rows and not skip_bad_rows:
        raise ImportRefused(checked)
    with transaction.atomic():
        return _write_file(fmt, path, progress, batch_size)


def _write_file(fmt, path: str, progress, batch_size: int) -> Summary:
    summary = Summary(fmt.SOURCE)
    reader = LogReader(path)
    written: set[str] = set()
    try:
        ctx = Context(fmt.SOURCE, fmt.LABEL, summary)
        batch: list[Incident] = []
        for incident in _counted(fmt.incidents(reader, summary.bad_rows.append), reader, summary, progress):
            batch.append(incident)
            if len(batch) >= batch_size:
                written.update(_import_batch(ctx, batch))
                batch = []
        written.update(_import_batch(ctx, batch))
        sources.record(fmt.SOURCE)
        if progress:
            progress(reader, summary)
    finally:
        reader.close()
    summary.bad_rows.sort(key=lambda b: b.line)
    summary.incomplete = sorted({b.incident for b in summary.bad_rows if b.incident} & written)
    return summary


def _counted(incidents: Iterator[Incident], reader: LogReader, summary: Summary, progress) -> Iterator[Incident]:
    for incident in incidents:
        summary.incidents += 1
        summary.rows = reader.reader.line_num - 1
        if progress and summary.incidents % 200 == 0:
            progress(reader, summary)
        yield incident
    summary.rows = reader.reader.line_num - 1


def _import_batch(ctx: Context, batch: list[Incident]) -> list[str]:
    """Write the incidents not imported before; their ids."""
    if not batch:
        return []
    known = set(
        Case.objects.filter(source=ctx.source, external_id__in=[i.external_id for i in batch]).values_list(
            "external_id", flat=True
        )
    )
    fresh = [i for i in batch if i.external_id not in known]
    ctx.summary.skipped += len(batch) - len(fresh)
    if not fresh:
        return []
    with transaction.atomic():
        ctx.load_people(set().union(*(inc.people() for inc in fresh)))
        replayed = [Replay(ctx, inc).run() for inc in fresh]
        write(replayed, ctx)
    ctx.summary.created += len(replayed)
    return [i.external_id for i in fresh]


def write(replayed: list[Replayed], ctx: Context) -> None:
    cases = [r.case for r in replayed]
    snapshots.keep_pending(cases)  # the frozen terms' rows before the cases that point at them
    bulk_insert(cases)
    handoffs, esc_history = [], []
    for r in replayed:
        for h in r.handoffs:
            esc = h.model(r.case)
            handoffs.append((h, esc))
            ctx.summary.escalations[h.kind] += 1
            if h.status in ("returned", "pending"):
                ctx.summary.escalations[h.status] += 1
    bulk_insert([esc for _h, esc in handoffs])
    waits = [w for r in replayed for w in r.waits]
    for r in replayed:
        for w in r.waits:
            w.case_id = r.case.pk
    bulk_insert(waits)
    bulk_insert([CaseAttribute(case_id=r.case.pk, key=k, value=v) for r in replayed for k, v in r.attributes.items()])
    history = [CaseHistory(id=r.case.pk, **row) for r in replayed for row in r.history]
    for h, esc in handoffs:
        esc_history.extend(_handoff_history(h, esc, ctx))
    chain.append(_as_stored(history), bulk_insert)
    chain.append(_as_stored(esc_history), bulk_insert)
    ctx.summary.history_rows += len(history) + len(esc_history)


def _handoff_history(h, esc: Escalation, ctx: Context) -> list:
    """Raised (pending) at its moment, decided at its own; a de-escalation is decided when made."""
    values = {name: getattr(esc, name) for name in ESC_TRACKED}
    reason = f"{h.reason}: {esc.from_level.code} -> {esc.to_level.code}"
    if esc.decided_at is None or h.kind == "de_escalate":
        return [
            EscalationHistory(
                **values,
                history_date=esc.created_at,
                history_type="+",
                history_change_reason=reason,
                history_user_id=esc.raised_by_id,
            )
        ]
    raised = {**values, "status": "pending", "decided_at": None, "decided_by_id": None, "return_reason": ""}
    return [
        EscalationHistory(
            **raised,
            history_date=esc.created_at,
            history_type="+",
            history_change_reason=reason,
            history_user_id=esc.raised_by_id,
        ),
        EscalationHistory(
            **values,
            history_date=esc.decided_at,
            history_type="~",
            history_change_reason=f"{esc.get_status_display()} (imported)",
            history_user_id=esc.decided_by_id,
        ),
    ]
