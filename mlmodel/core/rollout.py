"""Which experiment arm a unit gets: a stable hash into slots and a persisted slot map.

A unit (``"user:12"``) hashes, with the experiment phase's seed, into one of ``SLOTS`` slots::

    slot = int.from_bytes(sha256(f"{HASH_VERSION}:{seed}:{unit}")[:8], "big") % SLOTS

The slot map (``SLOTS`` arm ids, stored with the experiment) says which arm owns each slot. A
new phase lays the arms out in contiguous runs (the hash spreads units uniformly, so runs are
as good as any layout); every later change of weights goes through :func:`rebalance_slot_map`,
which moves the fewest slots that meet the new weights and only from shrinking arms into
growing ones. So 50/50 -> 40/60 moves 10 % of units, all into the growing arm, and adding a
challenger takes slots from the others without moving anyone between them. Changing the seed
(a new phase, "re-randomize") reshuffles everyone; nothing else does.

Pure arithmetic: the request path reads the slot from the hash and the cached map, with no I/O.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Mapping, Sequence

SLOTS = 10_000
HASH_VERSION = "mlpaygrade-slot/1"
HASH_BYTES = 8
PERCENT = 100


def unit_slot(unit: str, *, seed: str) -> int:
    """The unit's slot in ``[0, SLOTS)`` for this seed; documented above, pinned by tests."""
    digest = hashlib.sha256(f"{HASH_VERSION}:{seed}:{unit}".encode()).digest()
    return int.from_bytes(digest[:HASH_BYTES], "big") % SLOTS


def split_counts(total: int, weights: Sequence[int]) -> list[int]:
    """Split ``total`` in proportion to ``weights`` (largest remainder; sums exactly).

    All-zero weights split evenly, so a set whose weights vanished still routes somewhere.
    """
    if not weights:
        return []
    weights = [max(int(weight), 0) for weight in weights]
    if sum(weights) == 0:
        weights = [1] * len(weights)
    weight_sum = sum(weights)
    exact = [total * weight / weight_sum for weight in weights]
    counts = [int(value) for value in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for index in by_remainder[: total - sum(counts)]:
        counts[index] += 1
    return counts


def initial_slot_map(weights: Mapping[int, int]) -> list[int]:
    """A fresh layout for a new phase: each arm (in the given order) a contiguous run."""
    arm_ids = list(weights)
    if not arm_ids:
        raise ValueError("a slot map needs at least one arm")
    counts = split_counts(SLOTS, [weights[arm_id] for arm_id in arm_ids])
    slot_map: list[int] = []
    for arm_id, count in zip(arm_ids, counts, strict=True):
        slot_map.extend([arm_id] * count)
    return slot_map


def rebalance_slot_map(slot_map: Sequence[int], weights: Mapping[int, int]) -> list[int]:
    """The slot map for new ``weights`` with the fewest slots moved.

    Arms absent from ``weights`` (or weighted 0) give up all their slots. A shrinking arm gives
    up its highest slots; the freed slots, lowest first, fill growing arms in ``weights`` order.
    """
    if len(slot_map) != SLOTS:
        raise ValueError(f"a slot map has {SLOTS} slots, not {len(slot_map)}")
    arm_ids = list(weights)
    targets = dict(zip(arm_ids, split_counts(SLOTS, [weights[a] for a in arm_ids]), strict=True))
    counts = Counter(slot_map)
    keep = {arm_id: min(counts.get(arm_id, 0), targets[arm_id]) for arm_id in arm_ids}
    kept: Counter[int] = Counter()
    rebalanced: list[int | None] = [None] * SLOTS
    for slot, arm_id in enumerate(slot_map):  # lowest slots are kept, highest are freed
        if kept[arm_id] < keep.get(arm_id, 0):
            kept[arm_id] += 1
            rebalanced[slot] = arm_id
    freed = iter(slot for slot, arm_id in enumerate(rebalanced) if arm_id is None)
    for arm_id in arm_ids:
        for _ in range(targets[arm_id] - keep[arm_id]):
            rebalanced[next(freed)] = arm_id
    return [arm_id for arm_id in rebalanced if arm_id is not None]


def slot_map_counts(slot_map: Sequence[int]) -> dict[int, int]:
    """Slots per arm id."""
    return dict(Counter(slot_map))


def moved_slots(before: Sequence[int], after: Sequence[int]) -> list[int]:
    """The slots whose arm changed (their units must be re-recorded)."""
    return [slot for slot, (old, new) in enumerate(zip(before, after, strict=True)) if old != new]
