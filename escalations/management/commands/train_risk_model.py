import json

from django.core.management.base import BaseCommand, CommandError

from escalations.intelligence.risk import NotTrainable, score_open_cases, train
from escalations.intelligence.risk.features import TARGETS
from escalations.models import Category

SOURCES = ("all", "live", "bpic2013", "uci")


class Command(BaseCommand):
    help = (
        "Train the breach / escalation risk model on closed cases, print its evaluation on a "
        "time-ordered hold-out (ROC AUC, precision in the top 10 %, Brier score, reliability), store it "
        "as the active model and score the open cases. The last line is one JSON object: "
        '{"auc", "baseline_auc", "brier", "baseline_brier", "ece", "served", ...} of the breach model '
        "(with --target both too); the baseline is HistGradientBoosting on the same features and split."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--target",
            choices=[*TARGETS, "both"],
            default="breach",
            help="Which model; 'both' prints both tables, the JSON line is the breach model's.",
        )
        parser.add_argument(
            "--source",
            choices=SOURCES,
            default="all",
            help="Train on cases imported from one log, on live cases, or on all.",
        )
        parser.add_argument("--no-save", action="store_true", help="Evaluate only: store nothing, score nothing.")
        parser.add_argument("--no-score", action="store_true", help="Do not rescore the open cases afterwards.")

    def handle(self, *args, **o):
        targets = list(TARGETS) if o["target"] == "both" else [o["target"]]
        save = not o["no_save"]
        results = {}
        for target in targets:
            try:
                results[target] = train(target, o["source"], save=save)
            except NotTrainable as exc:
                self.stdout.write(f"{target}: not trained ({exc}).")
                continue
            self._table(results[target])
        if not results:
            raise CommandError("No model could be trained.")
        if save and not o["no_score"]:
            self.stdout.write(f"Scored {score_open_cases()} open cases.")
        last = results.get("breach") or next(iter(results.values()))
        self.stdout.write(
            json.dumps(
                {
                    "auc": last.metrics["auc"],
                    "baseline_auc": last.metrics["baseline_auc"],
                    "brier": last.metrics["brier"],
                    "baseline_brier": last.metrics["baseline_brier"],
                    "ece": last.metrics["ece"],
                    "served": last.metrics["served"],
                    "calibration": last.metrics["calibration_method"],
                    "precision_at_10": last.metrics["precision_at_10"],
                    "n_train": last.n_train,
                    "n_test": last.n_test,
                    "censored_in_train": last.metrics["censored_in_train"],
                }
            )
        )

    def _table(self, r) -> None:
        m, w = r.metrics, self.stdout.write
        w(f"Target {r.target}, source {r.source}: time-ordered hold-out, test cases opened from {m['cutoff']}")
        w(
            f"  training cases      {r.n_train:>8}  ({m['censored_in_train']} still open at the cutoff, labelled as "
            f"known then; {m['dropped_from_train']} left out: outcome not known yet)"
        )
        w(f"  test cases          {r.n_test:>8}")
        w(f"  positive rate       {m['train_positive_rate']:>8.3f} train, {m['base_rate']:.3f} test")
        w(f"  ROC AUC             {m['auc'] if m['auc'] is None else format(m['auc'], '8.3f'):>8}")
        w(f"  precision, top 10 % {m['precision_at_10']:>8.3f}  (base rate {m['base_rate']:.3f})")
        w(f"  Brier score         {m['brier']:>8.4f}  (mean predicted {m['mean_predicted']:.3f})")
        w(
            f"  calibration error   {m['ece']:>8.4f}  (ECE, 10 bins; {m['ece_uncalibrated']} before calibration: "
            f"{m['calibration_method'] or 'none'} on {m['calibration_cases']} cases)"
        )
        w(
            f"  baseline (boosted)  AUC {m['baseline_auc']}, Brier {m['baseline_brier']}; logistic AUC {m['logistic_auc']}"
        )
        w(f"  serving             {m['served']}")
        w("  reliability         bin        n  predicted  observed")
        for b in m["reliability"]:
            pred = "-" if b["mean_predicted"] is None else f"{b['mean_predicted']:.3f}"
            obs = "-" if b["observed_rate"] is None else f"{b['observed_rate']:.3f}"
            w(f"                      {b['bin']}  {b['n']:>6}  {pred:>9}  {obs:>8}")
        if r.model is not None:
            top = sorted(zip(r.params["coefficients"], r.params["names"]), reverse=True)[:5]
            ids = [n.partition(":")[2] for _c, n in top if n.startswith("category:") and n != "category:other"]
            names = {str(pk): name for pk, name in Category.objects.filter(pk__in=ids).values_list("pk", "name")}
            label = lambda n: f"category {names[n[9:]]}" if n[9:] in names else n  # noqa: E731
            w(
                f"  stored as model #{r.model.pk} (refitted on {r.params['fit_rows']} closed cases); "
                "strongest upward columns: " + ", ".join(f"{label(n)} {c:+.2f}" for c, n in top)
            )
        w("")
