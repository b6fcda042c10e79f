import json

from django.core.management.base import BaseCommand, CommandError

from escalations.intelligence.text.train import TARGETS, NotTrainable, train
from escalations.selectors import suggestion_figures as figures

SOURCES = ("all", "live", "bpic2013", "uci")


class Command(BaseCommand):
    help = (
        "Train the text model (category, priority and resolving level from a case's title and description) "
        "on resolved cases, print its evaluation on a time-ordered hold-out and store it as the active model. "
        "Then the suggestions' record: how often staff accepted them, and how often routing straight to the "
        'predicted level was right. The last line is one JSON object: {"top1", "top3", "macro_f1", '
        '"baseline_top1", ...} of the category head; the baseline is the most common category, same split.'
    )

    def add_arguments(self, parser):
        parser.add_argument("--source", choices=SOURCES, default="all", help="Train on one log, live cases, or all.")
        parser.add_argument("--no-save", action="store_true", help="Evaluate only: store nothing.")
        parser.add_argument(
            "--min-cases", type=int, default=None, help="Override TEXT_MODEL_MIN_CASES for this run (at least 1)."
        )

    def handle(self, *args, **o):
        if o["min_cases"] is not None and o["min_cases"] < 1:
            raise CommandError("--min-cases must be at least 1.")
        try:
            r = train(o["source"], save=not o["no_save"], min_cases=o["min_cases"])
        except NotTrainable as exc:
            raise CommandError(f"Not trained: {exc}.") from None
        m, w = r.metrics, self.stdout.write
        w(f"Source {r.source}: time-ordered hold-out, test cases opened from {m['cutoff']}")
        w(
            f"  training cases {r.n_train} (opened and resolved before the cut; {m['left_out_resolved_after_cut']} "
            f"opened before it but resolved later left out), test cases {r.n_test}"
        )
        w(f"  minimum resolved cases per class: {m['min_cases']}")
        w("  target     classes (of seen)   top-1   top-3  macro F1  baseline top-1  test outside the model")
        for t in TARGETS:
            h = m[t]
            fmt = lambda v: "-" if v is None else f"{v:.3f}"  # noqa: E731
            w(
                f"  {t:<10} {h['classes']:>7} ({h['classes_seen']:>4})   {fmt(h['top1']):>6}  {fmt(h['top3']):>6}"
                f"  {fmt(h['macro_f1']):>8}  {fmt(h['baseline_top1']):>14}  {h.get('test_outside_model', '-'):>6}"
            )
        est = m.get("routing_estimate") or {}
        if est:
            w(
                "  routing straight to the predicted level, replayed on the test cases (sent above the first level; "
                "share resolved at that level): "
                + "; ".join(f"at {t}: {e['routed']} cases, {e['rate']}" for t, e in est.items())
            )
        if r.model is not None:
            w(f"  stored as text model #{r.model.pk} (refitted on every resolved case of the source)")
        d = figures.decisions().as_dict()
        w(
            f"Suggestions at intake: {d['suggested']} made, {d['decided']} decided by staff: {d['accepted']} accepted, "
            f"{d['changed']} changed (category kept {d['category_accepted_rate']}, priority kept "
            f"{d['priority_accepted_rate']}); resolving level right {d['level_right_rate']} of resolved cases"
        )
        rt = figures.routed().as_dict()
        w(
            f"Routed straight to the predicted level: {rt['routed']} cases, {rt['settled']} settled, {rt['right']} "
            f"right (not returned, resolved at that level), {rt['returned']} returned: right rate {rt['right_rate']}"
        )
        c = m["category"]
        w(
            f"  macro F1 counts every category of the test period, modelled or not; over the {c['classes']} "
            f"modelled categories it is {c['macro_f1_modelled']}"
        )
        w(
            json.dumps(
                {
                    "top1": c["top1"],
                    "top3": c["top3"],
                    "macro_f1": c["macro_f1"],
                    "macro_f1_modelled": c["macro_f1_modelled"],
                    "baseline_top1": c["baseline_top1"],
                    "n_train": r.n_train,
                    "n_test": r.n_test,
                    "classes": c["classes"],
                    "priority_top1": m["priority"]["top1"],
                    "priority_baseline_top1": m["priority"]["baseline_top1"],
                    "level_top1": m["level"]["top1"],
                    "level_baseline_top1": m["level"]["baseline_top1"],
                    "suggestions_accepted_rate": d["accepted_rate"],
                    "routed_right_rate": rt["right_rate"],
                    "routing_estimate_at_0.8": est.get("0.8"),
                }
            )
        )
