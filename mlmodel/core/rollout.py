"""Which active model version answers a request when several share the traffic.

Assignment is a pure function of the subject (``"user:12"``, ``"token:5"``) and the set of
versions in the experiment, so a user keeps the same arm on every request and in every process
without any shared state. The set of versions salts the hash: a new experiment reshuffles users,
while ramping shares up or down within one experiment keeps most of them where they were
(arms are laid out in version order, the newest last, so growing its share only moves users
into it). Recording the assignment (for A/B analysis) is the caller's job.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

BUCKETS = 10_000
PERCENT = 100
ASSIGNMENT_HASH_PREFIX = "mlpaygrade-rollout/1"
SINGLE_ARM = ""


@dataclass(frozen=True, slots=True)
class Arm:
    """One active version and the percent of traffic it should serve."""

    version_id: int
    version_number: int
    traffic_share: int

    @property
    def label(self) -> str:
        return f"v{self.version_number}"


@dataclass(frozen=True, slots=True)
class Assignment:
    version_id: int
    experiment_arm: str


def experiment_key(arms: Sequence[Arm]) -> str:
    """Names the experiment: the versions taking part, in version order."""
    return "+".join(str(arm.version_number) for arm in sorted(arms, key=_arm_order))


def subject_bucket(subject_key: str, *, experiment: str) -> int:
    """A stable bucket in ``[0, BUCKETS)`` for this subject within this experiment."""
    text = f"{ASSIGNMENT_HASH_PREFIX}:{experiment}:{subject_key}"
    digest = hashlib.sha256(text.encode()).digest()
    return int.from_bytes(digest[:8], "big") % BUCKETS


def _arm_order(arm: Arm) -> tuple[int, int]:
    return arm.version_number, arm.version_id


def choose_arm(arms: Sequence[Arm], *, subject_key: str | None) -> Assignment:
    """Pick the arm for one request: sticky per ``subject_key``, random when it is ``None``.

    Shares are used as weights (normalised by their sum), so a set that does not add up to
    100 — e.g. one arm failed to load — still routes every request somewhere.
    """
    if not arms:
        raise ValueError("choose_arm needs at least one arm")
    if len(arms) == 1:
        return Assignment(version_id=arms[0].version_id, experiment_arm=SINGLE_ARM)
    ordered = sorted(arms, key=_arm_order)
    weights = [max(arm.traffic_share, 0) for arm in ordered]
    total = sum(weights)
    if total == 0:
        weights, total = [1] * len(ordered), len(ordered)
    if subject_key is None:
        bucket = secrets.randbelow(BUCKETS)
    else:
        bucket = subject_bucket(subject_key, experiment=experiment_key(ordered))
    point = bucket * total / BUCKETS
    cumulative = 0
    for arm, weight in zip(ordered, weights, strict=True):
        cumulative += weight
        if point < cumulative:
            return Assignment(version_id=arm.version_id, experiment_arm=arm.label)
    last = ordered[-1]
    return Assignment(version_id=last.version_id, experiment_arm=last.label)


def split_traffic(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` percent in proportion to ``weights`` (largest remainder; sums exactly)."""
    if not weights:
        return []
    weights = [max(weight, 0) for weight in weights]
    if sum(weights) == 0:
        weights = [1] * len(weights)
    weight_sum = sum(weights)
    exact = [total * weight / weight_sum for weight in weights]
    shares = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (shares[i] - exact[i], i))
    for index in by_remainder[: total - sum(shares)]:
        shares[index] += 1
    return shares
