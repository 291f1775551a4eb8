"""What the agent refuses to unpack, and how a pass that meets something unforeseen still ends well.

Each refusal is permanent (remembered until the pointer moves, so the release is not downloaded again on every
pass), its reason is in the heartbeat, and the release that was serving keeps serving.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tapstack.agent import cycle, install
from tapstack.agent.state import State
from tests.agent.helpers import APP, Instance, pack_dir, pack_files

DOCS = Path(__file__).resolve().parents[2] / "docs" / "operating-migrations.md"


def _serving_one_then_publish_two(instance: Instance, archive: bytes) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    assert instance.run().health == "healthy"
    instance.publish("2.0.0", archive)


def _refused_for_good(instance: Instance, why: str) -> None:
    beat = instance.run()
    assert (beat.release, beat.health) == ("1.0.0", "unhealthy")
    assert "release 2.0.0 refused" in beat.reason and why in beat.reason, beat.reason
    assert instance.serving() == "1.0.0"
    remembered = State.load(instance.config.root).failed
    assert remembered is not None and remembered.release == "2.0.0"
    restarts = len(instance.service.restarts)
    again = instance.run()
    assert why in again.reason and len(instance.service.restarts) == restarts


def test_a_member_a_thousand_directories_deep_is_refused_for_good(instance: Instance) -> None:
    deep = "/".join(["d"] * 1000) + "/x.py"
    _serving_one_then_publish_two(instance, pack_files({"app.py": (APP / "app.py").read_bytes(), deep: b"x"}))
    _refused_for_good(instance, f"1001 directories deep; at most {install.MAX_MEMBER_DEPTH} are unpacked")


def test_an_archive_unpacking_past_the_size_cap_is_refused_before_a_byte_is_written(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(install, "MAX_UNPACKED_BYTES", 64 * 1024)
    _serving_one_then_publish_two(instance, pack_files({"app.py": b"#" * (64 * 1024 + 1)}))
    _refused_for_good(instance, f"unpacks to {64 * 1024 + 1} bytes; a release may unpack to at most 65536 bytes")
    assert not (instance.config.root / "releases" / "2.0.0").exists()


def test_an_archive_with_a_file_where_a_directory_must_be_is_refused_for_good(instance: Instance) -> None:
    _serving_one_then_publish_two(instance, pack_files({"app.py": b"x", "app.py/inner.py": b"y"}))
    _refused_for_good(instance, "member 'app.py/inner.py' cannot be unpacked")


def test_an_unexpected_error_in_a_pass_is_reported_retried_and_the_previous_release_keeps_serving(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serving_one_then_publish_two(instance, pack_dir(APP))

    def broken(*_: object) -> None:
        raise RuntimeError("something no check foresaw")

    with monkeypatch.context() as patch:
        patch.setattr(cycle, "resolve", broken)
        beat = instance.run()
    assert (beat.release, beat.health) == ("1.0.0", "unhealthy")
    assert "unexpected error in this pass (RuntimeError: something no check foresaw); will retry" in beat.reason
    assert instance.stored_heartbeat()["reason"] == beat.reason
    assert instance.serving() == "1.0.0" and State.load(instance.config.root).failed is None
    assert instance.run().health == "healthy" and instance.serving() == "2.0.0"


def test_an_unexpected_error_after_the_switch_points_current_back_at_the_serving_release(
    instance: Instance, monkeypatch: pytest.MonkeyPatch
) -> None:
    _serving_one_then_publish_two(instance, pack_dir(APP))

    def broken(*_: object) -> None:
        raise RuntimeError("after the switch")

    with monkeypatch.context() as patch:
        patch.setattr(cycle, "_start_and_check", broken)
        beat = instance.run()
    assert "unexpected error in this pass (RuntimeError: after the switch)" in beat.reason
    assert install.current_link(instance.config.root).resolve().name == "1.0.0"
    assert instance.serving() == "1.0.0"


def test_the_docs_state_the_agents_unpack_limits() -> None:
    text = DOCS.read_text()
    assert f"{install.MAX_UNPACKED_BYTES // 1024**3} GiB" in text
    assert re.search(rf"\b{install.MAX_MEMBER_DEPTH} directories\b", text)


def test_a_staging_directory_left_by_an_agent_killed_while_unpacking_is_removed_by_the_next_install(
    instance: Instance,
) -> None:
    instance.publish("1.0.0", pack_dir(APP))
    assert instance.run().health == "healthy"
    abandoned = instance.config.root / "releases" / ".staging-killed"
    (abandoned / "release").mkdir(parents=True)
    instance.publish("2.0.0", pack_files({"app.py": (APP / "app.py").read_bytes(), "v2": b"2"}))
    assert instance.run().health == "healthy"
    assert not abandoned.exists()
