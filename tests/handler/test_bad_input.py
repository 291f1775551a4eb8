"""A caller's mistake: a 4xx whose message names the field to fix, and not one object written."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import pytest

from .helpers import CONFIG, Region, body

SHA_A = hashlib.sha256(b"a").hexdigest()
A = {"key": "artifacts/a.bin", "sha256": SHA_A}


def migrate(manifest_key: Any = "artifacts/manifests/m.json", **extra: Any) -> dict[str, Any]:
    return {"action": "migrate", "migration_id": "m-001", "manifest_key": manifest_key, **extra}


def manifest(doc: Any) -> Callable[[Region], None]:
    """Setup: upload this manifest (and an artifact 'artifacts/a.bin' holding b'a')."""

    def setup(aws: Region) -> None:
        aws.put("artifacts/a.bin", b"a")
        if isinstance(doc, bytes):
            aws.put("artifacts/manifests/m.json", doc)
        else:
            aws.put_json("artifacts/manifests/m.json", doc)

    return setup


def config(**changes: Any) -> Callable[[Region], None]:
    """Setup: change the SSM config, and upload a manifest of two good artifacts."""

    def setup(aws: Region) -> None:
        aws.set_config({**CONFIG, **changes})
        manifest({"release": "r1", "artifacts": [A, {**A, "key": "artifacts/b.bin"}]})(aws)

    return setup


def nothing(aws: Region) -> None:
    """No setup."""


CASES: list[tuple[str, Any, Callable[[Region], None], int, str, str]] = [
    # id, event, setup, status, field, message fragment
    ("event-not-object", ["migrate"], nothing, 400, "event", "must be a JSON object"),
    ("event-null", None, nothing, 400, "event", "got NoneType"),
    (
        "event-too-large",
        {"action": "status", "pad": "x" * 20_000},
        nothing,
        400,
        "event",
        "the limit is 16384",
    ),
    ("event-not-json", {"action": "status", "when": {1, 2}}, nothing, 400, "event", "not plain JSON"),
    ("action-missing", {"migration_id": "m-001"}, nothing, 400, "action", "action is missing"),
    ("action-unknown", {"action": "deploy"}, nothing, 400, "action", "action 'deploy' is unknown"),
    ("action-not-string", {"action": 7}, nothing, 400, "action", "action 7 is unknown"),
    (
        "field-unknown",
        migrate(migrationId="m-1"),
        nothing,
        400,
        "migrationId",
        "'migrationId' is not accepted",
    ),
    ("validate-extra-field", {"action": "validate", "force": True}, nothing, 400, "force", "not accepted"),
    ("id-missing", {"action": "migrate", "manifest_key": "k"}, nothing, 400, "migration_id", "is required"),
    ("id-null", {"action": "rollback", "migration_id": None}, nothing, 400, "migration_id", "is required"),
    (
        "id-bad-chars",
        {"action": "rollback", "migration_id": "m 1/x"},
        nothing,
        400,
        "migration_id",
        "not allowed",
    ),
    ("id-too-long", {"action": "rollback", "migration_id": "m" * 65}, nothing, 400, "migration_id", "1-64"),
    (
        "id-newline",
        {"action": "rollback", "migration_id": "m-1\n"},
        nothing,
        400,
        "migration_id",
        "not allowed",
    ),
    (
        "id-not-string",
        {"action": "rollback", "migration_id": 12},
        nothing,
        400,
        "migration_id",
        "must be a string",
    ),
    (
        "status-bad-id",
        {"action": "status", "migration_id": "../x"},
        nothing,
        400,
        "migration_id",
        "not allowed",
    ),
    (
        "key-missing",
        {"action": "migrate", "migration_id": "m-1"},
        nothing,
        400,
        "manifest_key",
        "is required",
    ),
    ("key-empty", migrate(""), nothing, 400, "manifest_key", "manifest_key is empty"),
    ("key-not-string", migrate(["k"]), nothing, 400, "manifest_key", "must be a string"),
    ("key-absolute", migrate("/artifacts/manifests/m.json"), nothing, 400, "manifest_key", "starts with '/'"),
    ("key-pointer", migrate("releases/current.json"), nothing, 400, "manifest_key", "handler's own records"),
    ("key-records", migrate("migrations/x/metadata.json"), nothing, 400, "manifest_key", "handler's own"),
    ("key-heartbeat", migrate("fleet/heartbeats/AROAX:i-0abc.json"), nothing, 400, "manifest_key", "fleet/"),
    ("key-outside-releases", migrate("manifests/m.json"), nothing, 400, "manifest_key", "outside artifacts/"),
    ("key-control-char", migrate("artifacts/manifests/r1\x07.json"), nothing, 400, "manifest_key", "control char"),
    ("key-too-long", migrate("k" * 1025), nothing, 400, "manifest_key", "1024-byte key limit"),
    ("manifest-missing", migrate(), nothing, 404, "manifest_key", "does not exist"),
    ("manifest-not-json", migrate(), manifest(b"release: r1"), 400, "manifest_key", "not valid JSON"),
    ("manifest-not-utf8", migrate(), manifest(b"\xff\xfe{}"), 400, "manifest_key", "not UTF-8 JSON"),
    ("manifest-a-list", migrate(), manifest([A]), 400, "manifest_key", "holds a JSON list"),
    (
        "manifest-nested-100000-deep",
        migrate(),
        manifest(b"[" * 100_000 + b"]" * 100_000),
        400,
        "manifest_key",
        "nested too deeply",
    ),
    (
        "manifest-field-nested-100000-deep",
        migrate(),
        manifest(b'{"release": "r1", "artifacts": [], "app": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"),
        400,
        "manifest_key",
        "nested too deeply",
    ),
    ("release-missing", migrate(), manifest({"artifacts": [A]}), 400, "manifest.release", "got None"),
    (
        "release-blank",
        migrate(),
        manifest({"release": " ", "artifacts": [A]}),
        400,
        "manifest.release",
        "1 to",
    ),
    (
        "artifacts-missing",
        migrate(),
        manifest({"release": "r1"}),
        400,
        "manifest.artifacts",
        "must be a list",
    ),
    (
        "artifacts-empty",
        migrate(),
        manifest({"release": "r1", "artifacts": []}),
        400,
        "manifest.artifacts",
        "empty",
    ),
    (
        "artifact-not-object",
        migrate(),
        manifest({"release": "r1", "artifacts": ["artifacts/a.bin"]}),
        400,
        "manifest.artifacts[0]",
        "must be an object",
    ),
    (
        "artifact-missing",
        migrate(),
        manifest({"release": "r1", "artifacts": [A, {"key": "artifacts/b.bin", "sha256": SHA_A}]}),
        400,
        "manifest.artifacts[1].key",
        "artifacts/b.bin does not exist",
    ),
    (
        "checksum-mismatch",
        migrate(),
        manifest({"release": "r1", "artifacts": [{"key": "artifacts/a.bin", "sha256": "0" * 64}]}),
        400,
        "manifest.artifacts[0].sha256",
        f"has sha256 {SHA_A}, the manifest expects {'0' * 64}",
    ),
    (
        "checksum-malformed",
        migrate(),
        manifest({"release": "r1", "artifacts": [{"key": "artifacts/a.bin", "sha256": "abc"}]}),
        400,
        "manifest.artifacts[0].sha256",
        "must be 64 hex characters",
    ),
    (
        "artifact-outside-releases",
        migrate(),
        manifest({"release": "r1", "artifacts": [{"key": "builds/a.bin", "sha256": SHA_A}]}),
        400,
        "manifest.artifacts[0].key",
        "builds/a.bin' is outside artifacts/",
    ),
    (
        "artifact-duplicate",
        migrate(),
        manifest({"release": "r1", "artifacts": [A, A]}),
        400,
        "manifest.artifacts[1].key",
        "repeats manifest.artifacts[0].key",
    ),
    (
        "artifact-reserved",
        migrate(),
        manifest({"release": "r1", "artifacts": [{"key": "locks/release-pointer.json", "sha256": SHA_A}]}),
        400,
        "manifest.artifacts[0].key",
        "handler's own records",
    ),
    (
        "artifact-under-fleet",
        migrate(),
        manifest({"release": "r1", "artifacts": [{"key": "fleet/app.tar.gz", "sha256": SHA_A}]}),
        400,
        "manifest.artifacts[0].key",
        "handler's own records",
    ),
    ("manifest-too-large", migrate(), config(max_manifest_bytes=50), 400, "manifest_key", "the limit is 50"),
    (
        "too-many-artifacts",
        migrate(),
        config(max_artifacts=1, status_limit=3),
        400,
        "manifest.artifacts",
        "limit is 1",
    ),
]


@pytest.mark.parametrize(
    ("event", "setup", "status", "field", "fragment"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_a_bad_request_is_refused_naming_the_field_and_writes_nothing(
    aws: Region, event: Any, setup: Callable[[Region], None], status: int, field: str, fragment: str
) -> None:
    setup(aws)
    versions = aws.versions()
    response = aws.invoke(event)
    result = body(response)
    assert response["statusCode"] == status
    assert result["field"] == field
    assert field in result["message"] or field == "event"
    assert fragment in result["message"]
    assert aws.versions() == versions


def test_every_artifact_problem_is_listed_not_just_the_first(aws: Region) -> None:
    manifest(
        {
            "release": "r1",
            "artifacts": [
                {"key": "artifacts/a.bin", "sha256": "1" * 64},
                {"key": "artifacts/a-again.bin", "sha256": SHA_A},
                {"key": "artifacts/gone.bin", "sha256": SHA_A},
            ],
        }
    )(aws)
    aws.put("artifacts/a-again.bin", b"a")
    response = aws.invoke(migrate())
    result = body(response)["result"]
    assert response["statusCode"] == 400
    assert result["problem_count"] == 2
    assert [p["field"] for p in result["problems"]] == [
        "manifest.artifacts[0].sha256",
        "manifest.artifacts[2].key",
    ]
