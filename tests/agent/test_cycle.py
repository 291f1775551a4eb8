"""The agent's pass against moto with the sample apps running as real processes: install, switch, health
check, revert, and every failure reported in the heartbeat while the previous release keeps serving."""

from __future__ import annotations

import dataclasses
import errno
import hashlib
import io
import json
import os
import tarfile
from typing import Any

import pytest

from tapstack.agent import fetch
from tapstack.agent.cycle import run_once
from tapstack.agent.heartbeat import HeartbeatUndelivered
from tapstack.agent.state import State
from tests.agent.helpers import APP, BROKEN, BUCKET, INSTANCE_ID, POINTER, Instance, pack_dir, pack_files


def test_before_the_first_release_the_heartbeat_says_nothing_is_installed(instance: Instance) -> None:
    beat = instance.run()
    assert (beat.release, beat.health, beat.reason, beat.instance_id) == (None, "none", "", INSTANCE_ID)
    assert instance.stored_heartbeat()["health"] == "none"


def test_a_release_is_downloaded_unpacked_switched_to_and_serves_its_healthz(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    beat = instance.run()

    assert (beat.release, beat.health, beat.reason, beat.previous_release) == ("1.0.0", "healthy", "", None)
    assert instance.serving() == "1.0.0"
    current = instance.config.root / "current"
    assert current.is_symlink() and current.resolve() == (instance.config.root / "releases" / "1.0.0").resolve()
    assert (current / "app.py").read_bytes() == (APP / "app.py").read_bytes()
    stored = instance.stored_heartbeat()
    assert stored == {**beat.to_json(), "agent": "tapstack-agent/1"}
    assert stored["instance_id"] == INSTANCE_ID and stored["timestamp"].endswith("Z")


def test_a_new_release_replaces_the_serving_one_and_the_old_one_becomes_previous(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish("1.1.0", pack_dir(APP))
    beat = instance.run()
    assert (beat.release, beat.health, beat.previous_release) == ("1.1.0", "healthy", "1.0.0")
    assert instance.serving() == "1.1.0"
    assert os.readlink(instance.config.root / "current") == os.path.join("releases", "1.1.0")


def test_a_converged_instance_does_not_restart_the_application_on_later_passes(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    for _ in range(3):
        assert instance.run().health == "healthy"
    assert instance.service.restarts == ["1.0.0"]


def test_a_release_failing_its_health_check_is_reverted_and_reported_unhealthy(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish("2.0.0", pack_dir(BROKEN), timeout=1.0)
    beat = instance.run()

    assert (beat.release, beat.health) == ("1.0.0", "unhealthy")
    assert beat.reason.startswith("release 2.0.0 failed its health check: no healthy answer within 1s")
    assert "answered 500" in beat.reason and beat.reason.endswith("; returned to 1.0.0")
    assert instance.serving() == "1.0.0"
    assert (instance.config.root / "current").resolve().name == "1.0.0"
    assert instance.stored_heartbeat()["health"] == "unhealthy"


def test_a_failed_release_is_not_reinstalled_on_every_pass_until_the_pointer_moves(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish("2.0.0", pack_dir(BROKEN), timeout=1.0)
    instance.run()
    assert instance.service.restarts == ["1.0.0", "2.0.0", "1.0.0"]

    again = instance.run()
    assert instance.service.restarts == ["1.0.0", "2.0.0", "1.0.0"], "no second attempt at 2.0.0"
    assert (again.release, again.health) == ("1.0.0", "unhealthy")
    assert again.reason.startswith("release 2.0.0 failed its health check") and "; serving 1.0.0" in again.reason

    instance.publish("2.0.1", pack_dir(APP))
    fixed = instance.run()
    assert (fixed.release, fixed.health, fixed.reason) == ("2.0.1", "healthy", "")


def test_a_broken_first_release_stops_the_application_and_says_there_is_nothing_to_return_to(
    instance: Instance,
) -> None:
    instance.publish("1.0.0", pack_dir(BROKEN), timeout=1.0)
    beat = instance.run()
    assert (beat.release, beat.health) == (None, "unhealthy")
    assert beat.reason.endswith("no previous release to return to, the application is stopped")
    assert instance.service.gone() == "the application is not running"
    assert not (instance.config.root / "current").exists()


def test_an_application_that_never_answers_times_out(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish(
        "1.1.0", pack_files({"idle.py": b"import time\ntime.sleep(60)\n"}), start=("python3", "idle.py"), timeout=0.5
    )
    beat = instance.run()
    assert beat.reason.startswith("release 1.1.0 failed its health check: no healthy answer within 0.5s")
    assert "Connection refused" in beat.reason
    assert (beat.release, instance.serving()) == ("1.0.0", "1.0.0")


def test_an_application_that_exits_is_reported_without_waiting_for_the_deadline(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish(
        "1.1.0", pack_files({"crash.py": b"raise SystemExit(3)\n"}), start=("python3", "crash.py"), timeout=30
    )
    beat = instance.run()
    assert "the application exited with code 3" in beat.reason
    assert instance.serving() == "1.0.0"


def test_the_agent_fetches_the_promoted_version_even_if_the_key_was_overwritten_later(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.upload("artifacts/1.0.0/app.tar.gz", pack_files({"app.py": b"raise SystemExit('tampered')\n"}))
    beat = instance.run()
    assert (beat.release, beat.health, beat.reason) == ("1.0.0", "healthy", "")
    assert (instance.config.root / "current" / "app.py").read_bytes() == (APP / "app.py").read_bytes()


def test_an_artifact_whose_bytes_do_not_match_the_promoted_sha256_is_refused(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    wrong = hashlib.sha256(b"something else").hexdigest()
    instance.publish("1.1.0", pack_dir(APP), sha256=wrong)
    beat = instance.run()
    assert (beat.release, beat.health) == ("1.0.0", "unhealthy")
    assert f"the release promised {wrong}" in beat.reason and beat.reason.startswith("release 1.1.0 refused: artifact")
    assert beat.reason.endswith("; serving 1.0.0")
    assert not (instance.config.root / "releases" / "1.1.0").exists()
    assert instance.service.restarts == ["1.0.0"]


def test_a_missing_artifact_version_is_refused_and_the_previous_release_keeps_serving(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    pointer = instance.publish("1.1.0", pack_dir(APP))
    artifact = pointer["artifacts"][0]
    instance.s3.delete_object(Bucket=BUCKET, Key=artifact["key"], VersionId=artifact["version_id"])
    beat = instance.run()
    assert beat.reason == (
        f"release 1.1.0 refused: artifact s3://{BUCKET}/{artifact['key']} version {artifact['version_id']} "
        "does not exist; serving 1.0.0"
    )
    assert instance.serving() == "1.0.0"


def test_a_full_disk_is_reported_and_retried_on_the_next_pass(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish("1.1.0", pack_dir(APP))

    def disk_full(*_: Any) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with monkeypatch.context() as patched:
        patched.setattr(fetch, "write_chunks", disk_full)
        beat = instance.run()
    assert beat.reason.startswith("release 1.1.0 refused: disk full while downloading artifact")
    assert (beat.release, instance.serving()) == ("1.0.0", "1.0.0")
    assert [p.name for p in (instance.config.root / "releases").iterdir()] == ["1.0.0"], "nothing left behind"

    retried = instance.run()
    assert (retried.release, retried.health) == ("1.1.0", "healthy")


def test_an_unreadable_pointer_is_reported_while_the_installed_release_keeps_serving(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=b"{not json")
    beat = instance.run()
    assert (beat.release, beat.health) == ("1.0.0", "unhealthy")
    assert beat.reason == (
        f"cannot follow the release pointer: the release pointer s3://{BUCKET}/{POINTER} is not UTF-8 JSON; "
        "serving 1.0.0"
    )
    assert instance.serving() == "1.0.0"


def test_a_manifest_without_an_app_section_is_refused_and_remembered(instance: Instance) -> None:
    pointer = instance.publish("1.0.0", pack_dir(APP))
    bare = {"release": "1.0.0", "artifacts": [{"key": a["key"], "sha256": a["sha256"]} for a in pointer["artifacts"]]}
    version = instance.upload("artifacts/1.0.0/bare.json", json.dumps(bare).encode())
    moved = {**pointer, "manifest_key": "artifacts/1.0.0/bare.json", "manifest_version_id": version}
    instance.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps(moved).encode())
    beat = instance.run()
    assert (beat.release, beat.health) == (None, "unhealthy")
    assert beat.reason.startswith(f"release 1.0.0 refused: manifest s3://{BUCKET}/artifacts/1.0.0/bare.json (version")
    assert "has no app section" in beat.reason and instance.service.restarts == []
    remembered = State.load(instance.config.root).failed
    assert remembered is not None and remembered.release == "1.0.0" and beat.reason.startswith(remembered.reason)


@pytest.mark.parametrize(
    ("member", "why"),
    [
        ("../escaped.py", "would be written outside the release directory"),
        ("/etc/escaped.py", "would be written outside the release directory"),
        ("sub/../../escaped.py", "would be written outside the release directory"),
    ],
)
def test_archive_members_outside_the_release_directory_are_refused_before_anything_is_written(
    instance: Instance, member: str, why: str
) -> None:
    instance.publish("1.0.0", pack_files({"app.py": (APP / "app.py").read_bytes(), member: b"x"}))
    beat = instance.run()
    assert why in beat.reason and repr(member) in beat.reason
    assert not (instance.config.root / "escaped.py").exists()
    assert not (instance.config.root / "releases" / "1.0.0").exists()


def test_links_in_an_archive_are_refused(instance: Instance) -> None:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        link = tarfile.TarInfo("passwd")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        tar.addfile(link)
    instance.publish("1.0.0", buffer.getvalue())
    beat = instance.run()
    assert "member 'passwd' is a link; releases may hold regular files and directories only" in beat.reason


def test_a_pointer_without_pinned_versions_is_refused(instance: Instance) -> None:
    instance.publish("1.0.0", pack_dir(APP), pin=False)
    beat = instance.run()
    assert (beat.release, beat.health) == (None, "unhealthy")
    assert beat.reason.startswith("release 1.0.0 refused: the pointer pins no artifact versions")
    assert instance.service.restarts == []


def test_a_rollback_returns_to_the_previous_release_without_downloading_it_again(instance: Instance) -> None:
    first = instance.publish("1.0.0", pack_dir(APP))
    instance.run()
    instance.publish("1.1.0", pack_dir(APP))
    instance.run()
    instance.s3.delete_object(
        Bucket=BUCKET, Key=first["artifacts"][0]["key"], VersionId=first["artifacts"][0]["version_id"]
    )
    instance.s3.put_object(Bucket=BUCKET, Key=POINTER, Body=json.dumps({**first, "migration_id": "rb"}).encode())
    beat = instance.run()
    assert (beat.release, beat.health, beat.previous_release) == ("1.0.0", "healthy", "1.1.0")
    assert instance.serving() == "1.0.0"


def test_a_heartbeat_that_cannot_be_written_is_raised_with_what_it_would_have_said(instance: Instance) -> None:
    config = dataclasses.replace(instance.config, bucket="no-such-bucket")
    with pytest.raises(HeartbeatUndelivered) as undelivered:
        run_once(config, instance.agent_s3, instance.agent_sts, instance.service)
    assert "cannot write s3://no-such-bucket/fleet/heartbeats/" in str(undelivered.value)
    beat = undelivered.value.heartbeat
    assert beat.health == "unhealthy" and "NoSuchBucket" in beat.reason
