"""Slots and slot maps: a pinned hash, weights met, and the fewest units moved on a change."""

import hashlib

import pytest

from mlmodel.core.rollout import (
    SLOTS,
    initial_slot_map,
    moved_slots,
    rebalance_slot_map,
    slot_map_counts,
    split_counts,
    unit_slot,
)

UNITS = [f"user:{n}" for n in range(10_000)]
SEED = "0123456789abcdef"
CHAMPION, CHALLENGER, SECOND = 1, 2, 3


def _arms_of(slot_map, units=UNITS, seed=SEED):
    return {unit: slot_map[unit_slot(unit, seed=seed)] for unit in units}


@pytest.mark.parametrize(
    ("unit", "seed", "slot"),
    [
        ("user:1", "seed-a", 7916),
        ("user:2", "seed-a", 3252),
        ("user:1", "seed-b", 8245),
        ("user:123456", SEED, 5043),
    ],
)
def test_the_slot_hash_is_pinned(unit, seed, slot):
    # Changing the prefix, the digest slice or the modulus would silently move every user:
    # these golden values fail first. They are also what the README documents.
    assert unit_slot(unit, seed=seed) == slot
    digest = hashlib.sha256(f"mlpaygrade-slot/1:{seed}:{unit}".encode()).digest()
    assert int.from_bytes(digest[:8], "big") % SLOTS == slot


def test_a_new_seed_reshuffles_units():
    # when
    same = sum(unit_slot(u, seed="a") == unit_slot(u, seed="b") for u in UNITS)

    # then
    assert same < len(UNITS) * 0.01


@pytest.mark.parametrize("weights", [(50, 50), (90, 10), (34, 33, 33)])
def test_the_initial_map_gives_each_arm_its_weight(weights):
    # given
    slot_map = initial_slot_map(dict(enumerate(weights, start=1)))

    # when
    arms = list(_arms_of(slot_map).values())

    # then
    assert len(slot_map) == SLOTS
    for arm_id, weight in enumerate(weights, start=1):
        assert arms.count(arm_id) / len(arms) == pytest.approx(weight / 100, abs=0.02)


def test_fifty_fifty_to_forty_sixty_moves_ten_percent_all_into_the_growing_arm():
    # given
    before = initial_slot_map({CHAMPION: 50, CHALLENGER: 50})
    assigned_before = _arms_of(before)

    # when
    after = rebalance_slot_map(before, {CHAMPION: 40, CHALLENGER: 60})
    assigned_after = _arms_of(after)

    # then
    moved = [u for u in UNITS if assigned_before[u] != assigned_after[u]]
    assert len(moved) / len(UNITS) == pytest.approx(0.10, abs=0.01)
    assert {(assigned_before[u], assigned_after[u]) for u in moved} == {(CHAMPION, CHALLENGER)}
    assert slot_map_counts(after) == {CHAMPION: 4_000, CHALLENGER: 6_000}
    assert len(moved_slots(before, after)) == 1_000


def test_adding_a_challenger_moves_nobody_between_the_others():
    # given
    before = initial_slot_map({CHAMPION: 60, CHALLENGER: 40})
    assigned_before = _arms_of(before)

    # when
    after = rebalance_slot_map(before, {CHAMPION: 50, CHALLENGER: 30, SECOND: 20})
    assigned_after = _arms_of(after)

    # then
    moves = {(assigned_before[u], assigned_after[u]) for u in UNITS} - {
        (CHAMPION, CHAMPION),
        (CHALLENGER, CHALLENGER),
    }
    assert moves <= {(CHAMPION, SECOND), (CHALLENGER, SECOND)}
    assert slot_map_counts(after) == {CHAMPION: 5_000, CHALLENGER: 3_000, SECOND: 2_000}


def test_an_arm_taken_to_zero_gives_back_all_its_slots():
    # given
    before = initial_slot_map({CHAMPION: 50, CHALLENGER: 50})

    # when
    after = rebalance_slot_map(before, {CHAMPION: 100, CHALLENGER: 0})

    # then
    assert slot_map_counts(after) == {CHAMPION: SLOTS}
    assert moved_slots(before, after) == list(range(5_000, SLOTS))


def test_ramping_back_and_forth_returns_the_same_units():
    # given
    start = initial_slot_map({CHAMPION: 90, CHALLENGER: 10})
    in_challenger = {u for u, arm in _arms_of(start).items() if arm == CHALLENGER}

    # when
    ramped = rebalance_slot_map(start, {CHAMPION: 75, CHALLENGER: 25})
    grown = {u for u, arm in _arms_of(ramped).items() if arm == CHALLENGER}

    # then: growing only adds units; nobody already in the challenger leaves
    assert in_challenger <= grown


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [(100, [1, 1, 1], [34, 33, 33]), (10_000, [50, 50], [5_000, 5_000]), (5, [0, 0], [3, 2])],
)
def test_split_counts_sums_exactly(total, weights, expected):
    assert split_counts(total, weights) == expected


def test_a_slot_map_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="10000 slots"):
        rebalance_slot_map([1, 2, 3], {1: 100})
