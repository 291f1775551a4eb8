"""Cohorts: which instances a staged release reaches, decided by each agent from its id and the release alone."""

from __future__ import annotations

from tapstack.contract import COHORT_SPACE, ROLLOUT, cohort_score, followed, in_cohort, percent_bound

IDS = [f"i-{n:017x}" for n in range(1000)]


def _cohort(release: str, percent: float) -> set[str]:
    return {i for i in IDS if in_cohort(i, release, percent_bound(percent))}


def test_an_instance_is_in_or_out_of_a_release_cohort_the_same_way_every_time() -> None:
    assert [cohort_score(i, "r7") for i in IDS] == [cohort_score(i, "r7") for i in IDS]
    assert _cohort("r7", 25) == _cohort("r7", 25)


def test_a_percentage_admits_about_that_share_of_1000_instances() -> None:
    for percent in (1, 10, 25, 50):
        share = len(_cohort("r7", percent)) / len(IDS) * 100
        assert abs(share - percent) <= max(1.5, percent * 0.2), (percent, share)
    assert len(_cohort("r7", 100)) == 1000 and percent_bound(100) == COHORT_SPACE


def test_a_larger_stage_keeps_every_instance_of_the_smaller_one() -> None:
    assert _cohort("r7", 10) <= _cohort("r7", 25) <= _cohort("r7", 50)


def test_two_releases_pick_different_cohorts() -> None:
    first, second = _cohort("r7", 25), _cohort("r8", 25)
    assert len(first ^ second) > 200, "the same boxes would always go first"


def test_an_instance_follows_the_rollout_only_inside_its_cohort_and_without_an_id_never() -> None:
    inside = min(IDS, key=lambda i: cohort_score(i, "r2"))
    outside = max(IDS, key=lambda i: cohort_score(i, "r2"))
    rollout = {"release": "r2", "bound": cohort_score(inside, "r2") + 1, "stage": "one_box"}
    pointer = {"release": "r1", "artifacts": [], ROLLOUT: rollout}
    assert followed(pointer, inside) == rollout
    assert followed(pointer, outside) == {"release": "r1", "artifacts": []}
    assert followed(pointer, None)["release"] == "r1"
