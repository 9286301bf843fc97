"""Traffic split among active versions: sticky per subject, proportional, stable when ramping."""

import pytest

from mlmodel.core.rollout import Arm, choose_arm, experiment_key, split_traffic

SUBJECTS = [f"user:{n}" for n in range(5_000)]
OLD, NEW = 11, 12


def _arms(old_share: int, new_share: int) -> list[Arm]:
    return [Arm(OLD, 1, old_share), Arm(NEW, 2, new_share)]


def _assigned_to_new(arms: list[Arm]) -> set[str]:
    return {s for s in SUBJECTS if choose_arm(arms, subject_key=s).version_id == NEW}


def test_a_single_arm_takes_everything_without_an_experiment_label():
    # when
    assignment = choose_arm([Arm(OLD, 1, 100)], subject_key="user:1")

    # then
    assert (assignment.version_id, assignment.experiment_arm) == (OLD, "")


def test_assignment_is_sticky_and_labelled():
    # given
    arms = _arms(50, 50)

    # when
    first = [choose_arm(arms, subject_key=s) for s in SUBJECTS[:200]]
    again = [choose_arm(list(reversed(arms)), subject_key=s) for s in SUBJECTS[:200]]

    # then
    assert first == again
    assert {a.experiment_arm for a in first} == {"v1", "v2"}


@pytest.mark.parametrize("new_share", [10, 30, 50, 90])
def test_shares_are_respected_over_many_subjects(new_share):
    # when
    fraction = len(_assigned_to_new(_arms(100 - new_share, new_share))) / len(SUBJECTS)

    # then
    assert fraction == pytest.approx(new_share / 100, abs=0.03)


def test_ramping_up_the_new_version_keeps_its_users():
    # given
    at_ten = _assigned_to_new(_arms(90, 10))

    # when
    at_twenty = _assigned_to_new(_arms(80, 20))

    # then
    assert at_ten <= at_twenty
    assert len(at_twenty) > len(at_ten)


def test_a_new_experiment_reshuffles_subjects():
    # given
    arms = _arms(50, 50)
    other = [Arm(OLD, 1, 50), Arm(NEW, 3, 50)]

    # when / then
    assert experiment_key(arms) != experiment_key(other)
    assert _assigned_to_new(arms) != _assigned_to_new(other)


def test_anonymous_requests_are_spread_and_zero_weights_still_route():
    # when
    anonymous = {choose_arm(_arms(50, 50), subject_key=None).version_id for _ in range(200)}
    zero = choose_arm(_arms(0, 0), subject_key="user:1")

    # then
    assert anonymous == {OLD, NEW}
    assert zero.version_id in {OLD, NEW}
    with pytest.raises(ValueError):
        choose_arm([], subject_key="user:1")


def test_split_traffic_always_sums_exactly():
    # when / then
    assert split_traffic(100, [1, 1, 1]) == [34, 33, 33]
    assert split_traffic(70, [50, 50]) == [35, 35]
    assert split_traffic(99, [0, 0]) == [50, 49]
    assert sum(split_traffic(37, [13, 29, 58])) == 37
