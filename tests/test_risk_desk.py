"""The intake features from the desk (open cases, recent breaches, team load, hours left)
see only what was known when the case opened; the prior-shift correction of calibration."""

from datetime import UTC, datetime, timedelta

from escalations.intelligence.risk import calibration
from escalations.intelligence.risk.features import Row, desk_at_opening, hours_to_end_of_day

T0 = datetime(2025, 6, 2, 9, 0, tzinfo=UTC)


def row(i, opened, closed=None, requester="r1", org="acme.example", team="7", breached=None, breach=False):
    return Row(
        id=i, opened_at=T0 + opened, closed_at=None if closed is None else T0 + closed, priority=3, impact=2,
        urgency=2, complexity="medium", customer_tier="standard", business_impact=0, category="1",
        category_name="c", requester=requester, team=team, team_name="Desk", level_rank=1, level_code="L1",
        breach=breach, breached_at=None if breached is None else T0 + breached, org=org, capacity=4,
    )  # fmt: skip


def test_desk_at_opening_counts_only_what_was_known_then():
    h = timedelta(hours=1)
    rows = [
        row(1, 0 * h, closed=2 * h),  # closed before case 4 opens
        row(2, 1 * h, closed=10 * h, breached=3 * h, breach=True),  # open at 4's opening, breach known at 3 h
        row(3, 1 * h, closed=10 * h, breached=6 * h, breach=True, requester="r2"),  # breach known after 4 opens
        row(4, 5 * h),
        row(5, 7 * h, requester="r3", org="other.example", team="8"),  # opens after 4
        row(6, -100 * 24 * h, closed=-99 * 24 * h, breach=True),  # breached (at closing) over 90 days ago
    ]
    desk_at_opening(rows, rows)
    four = rows[3].load
    assert four["requester_open"] == 1  # case 2 (1 closed, 5 later, 3 another requester)
    assert four["org_open"] == 2  # cases 2 and 3
    assert four["requester_breaches_90d"] == 1  # case 2's breach at 3 h; not 3's (6 h), not 6's (too old)
    assert four["org_breaches_90d"] == 1
    assert four["team_load"] == 2 / 4  # cases 2 and 3 open in team 7, capacity 4
    assert rows[0].load["requester_open"] == 0 and rows[4].load == {
        "requester_open": 0, "org_open": 0, "requester_breaches_90d": 0, "org_breaches_90d": 0, "team_load": 0.0,
    }  # fmt: skip


def test_hours_to_end_of_day():
    from django.utils import timezone

    local = timezone.localtime(T0).replace(hour=16, minute=30)
    assert hours_to_end_of_day(local) == 1.5
    assert hours_to_end_of_day(local.replace(hour=19)) == 0.0
    assert hours_to_end_of_day(local + timedelta(days=5)) == 0.0  # a Saturday


def test_prior_shift_meets_the_known_rate_and_keeps_the_ranking():
    p = [0.2, 0.5, 0.7, 0.9, 0.95]
    shifted = calibration.shift_to_prior({"a": 1.0, "b": 0.0}, p, 0.25)
    out = [calibration.apply(shifted, v) for v in p]
    assert abs(sum(out) / len(out) - 0.25) < 1e-6
    assert out == sorted(out) and shifted["a"] == 1.0 and shifted["prior"] == 0.25
    assert calibration.shift_to_prior({"a": 1.0, "b": 0.0}, p, 0) == {"a": 1.0, "b": 0.0}  # nothing to shift to
