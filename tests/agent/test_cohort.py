"""The agent in a staged rollout: inside the cohort it installs the rollout's release, outside it keeps serving."""

from __future__ import annotations

import json

from tapstack.contract import ROLLOUT, cohort_score
from tests.agent.helpers import APP, BUCKET, INSTANCE_ID, POINTER, Instance, pack_dir


def _stage(instance: Instance, stable: dict[str, object], rollout: dict[str, object], bound: int) -> None:
    staged = {**stable, ROLLOUT: {**rollout, "stage": "batch", "percent": 1, "bound": bound}}
    instance.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps(staged).encode())


def test_an_instance_inside_the_cohort_installs_the_rollout_and_one_outside_keeps_the_release(
    instance: Instance,
) -> None:
    stable = instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    rollout = instance.publish("1.1.0", pack_dir(APP))
    score = cohort_score(INSTANCE_ID, "1.1.0")
    _stage(instance, stable, rollout, bound=score)  # this instance's score is not below the bound: outside
    assert instance.run().release == "1.0.0"
    assert instance.service.restarts == ["1.0.0"], "nothing was reinstalled or restarted"
    _stage(instance, stable, rollout, bound=score + 1)  # now inside
    beat = instance.run()
    assert (beat.release, beat.health) == ("1.1.0", "healthy")
    assert instance.serving() == "1.1.0"


def test_the_full_promotion_of_the_staged_release_changes_nothing_on_an_instance_already_serving_it(
    instance: Instance,
) -> None:
    stable = instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    rollout = instance.publish("1.1.0", pack_dir(APP))
    _stage(instance, stable, rollout, bound=cohort_score(INSTANCE_ID, "1.1.0") + 1)
    instance.run()
    instance.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps(rollout).encode())
    assert instance.run().release == "1.1.0"
    assert instance.service.restarts == ["1.0.0", "1.1.0"]
