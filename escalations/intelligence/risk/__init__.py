"""Predictive escalation: explainable models of SLA breach and escalation risk.

``features`` (what may be known at intake), ``train`` (time-ordered evaluation, fitting,
storing), ``predict`` (pure-Python scoring from stored JSON parameters)."""

from escalations.intelligence.risk.predict import active_models, predict, score_open_cases
from escalations.intelligence.risk.train import NotTrainable, retrain, time_split, train

__all__ = ["NotTrainable", "active_models", "predict", "retrain", "score_open_cases", "time_split", "train"]
