"""Packaging: the same directory always gives the same bytes, and every bad input is refused before upload."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from tapstack.release.appspec import check_version
from tapstack.release.errors import ReleaseError
from tapstack.release.package import package_dir
from tests.release.helpers import ROOT, write_app


def _tree(root: Path) -> Path:
    write_app(root)
    (root / "lib").mkdir()
    (root / "lib" / "util.py").write_text("X = 1\n")
    (root / "run.sh").write_text("#!/bin/sh\n")
    (root / "run.sh").chmod(0o700)
    return root


def test_the_same_directory_packs_to_the_same_sha256_whatever_its_timestamps_owner_and_modes(tmp_path: Path) -> None:
    first = _tree(tmp_path / "a")
    second = tmp_path / "b"
    shutil.copytree(first, second)
    os.utime(second / "app.py", (1_000_000, 1_000_000))
    (second / "lib" / "util.py").chmod(0o600)
    assert package_dir(first, "1.0.0").artifacts[0].sha256 == package_dir(second, "1.0.0").artifacts[0].sha256
    assert package_dir(first, "1.0.0").manifest.body == package_dir(second, "1.0.0").manifest.body


def test_archive_entries_are_sorted_owned_by_root_at_time_zero_with_normalised_modes(tmp_path: Path) -> None:
    pkg = package_dir(_tree(tmp_path / "app"), "1.0.0")
    with tarfile.open(fileobj=io.BytesIO(pkg.artifacts[0].body), mode="r:gz") as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["app.py", "lib", "lib/util.py", "run.sh", "tapstack-app.toml"]
    assert {(m.uid, m.gid, m.uname, m.gname, m.mtime) for m in members} == {(0, 0, "", "", 0)}
    assert {m.name: oct(m.mode) for m in members} == {
        "app.py": "0o644",
        "lib": "0o755",
        "lib/util.py": "0o644",
        "run.sh": "0o755",
        "tapstack-app.toml": "0o644",
    }


def test_a_changed_file_changes_the_sha256(tmp_path: Path) -> None:
    app = _tree(tmp_path / "app")
    before = package_dir(app, "1.0.0").artifacts[0].sha256
    (app / "lib" / "util.py").write_text("X = 2\n")
    assert package_dir(app, "1.0.0").artifacts[0].sha256 != before


def test_pycache_and_git_directories_are_left_out(tmp_path: Path) -> None:
    app = _tree(tmp_path / "app")
    before = package_dir(app, "1.0.0").artifacts[0].sha256
    (app / "__pycache__").mkdir()
    (app / "__pycache__" / "app.cpython-311.pyc").write_bytes(b"\x00")
    (app / ".git").mkdir()
    (app / ".git" / "HEAD").write_text("ref: refs/heads/main\n")
    assert package_dir(app, "1.0.0").artifacts[0].sha256 == before


def test_manifest_names_the_archive_its_sha256_and_the_app_section_from_the_app_file(tmp_path: Path) -> None:
    pkg = package_dir(_tree(tmp_path / "app"), "2.1.0")
    archive = pkg.artifacts[0]
    assert archive.key == "artifacts/2.1.0/app.tar.gz"
    assert archive.sha256 == hashlib.sha256(archive.body).hexdigest()
    assert pkg.manifest.key == "artifacts/2.1.0/manifest.json"
    assert json.loads(pkg.manifest.body) == {
        "release": "2.1.0",
        "artifacts": [{"key": "artifacts/2.1.0/app.tar.gz", "sha256": archive.sha256}],
        "app": {"start": ["python3", "app.py"], "health": {"path": "/healthz", "port": 8080, "timeout_seconds": 5}},
    }
    assert [o.key for o in pkg.objects] == [archive.key, pkg.manifest.key]


def test_the_sample_apps_package(tmp_path: Path) -> None:
    for name in ("app", "app-broken"):
        manifest = json.loads(package_dir(ROOT / "examples" / name, "1.0.0").manifest.body)
        assert manifest["app"]["health"]["path"] == "/healthz"


@pytest.mark.parametrize(
    ("version", "ok"),
    [
        ("1.0.0", True),
        ("release_2024-01", True),
        ("a" * 64, True),
        ("a" * 65, False),
        ("", False),
        ("-1.0", False),
        (".hidden", False),
        ("1..0", False),
        ("1.0/evil", False),
        ("1.0 beta", False),
        ("v1\n", False),
    ],
)
def test_version_ids(version: str, ok: bool) -> None:
    if ok:
        assert check_version(version) == version
    else:
        with pytest.raises(ReleaseError, match="is not a valid release id"):
            check_version(version)


def test_a_missing_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="does not exist"):
        package_dir(tmp_path / "nope", "1.0.0")


def test_a_file_instead_of_a_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(ReleaseError, match="is not a directory"):
        package_dir(tmp_path / "f", "1.0.0")


def test_an_empty_directory_is_refused(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ReleaseError, match="is empty"):
        package_dir(tmp_path / "empty", "1.0.0")


def test_a_directory_without_the_app_file_is_refused_with_an_example(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "app.py").write_text("")
    with pytest.raises(ReleaseError, match=r"has no tapstack-app.toml: create it .*\[health\]"):
        package_dir(tmp_path / "app", "1.0.0")


def test_a_directory_holding_only_the_app_file_is_refused(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    (app / "app.py").unlink()
    with pytest.raises(ReleaseError, match=r"nothing to run besides tapstack-app\.toml"):
        package_dir(app, "1.0.0")


def test_a_symbolic_link_is_refused(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    (app / "link.py").symlink_to(app / "app.py")
    with pytest.raises(ReleaseError, match=r"link\.py is a symbolic link"):
        package_dir(app, "1.0.0")


def test_a_bad_version_is_refused_before_the_directory_is_read(tmp_path: Path) -> None:
    with pytest.raises(ReleaseError, match="not a valid release id"):
        package_dir(tmp_path / "nope", "../1")


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("start = [", "is not valid TOML"),
        ('[health]\npath = "/healthz"\nport = 8080\n', "start is missing"),
        ('start = "python3 app.py"\n[health]\npath = "/h"\nport = 1\n', "start must be a non-empty list"),
        ('start = []\n[health]\npath = "/h"\nport = 1\n', "start must be a non-empty list"),
        ('start = ["python3", ""]\n[health]\npath = "/h"\nport = 1\n', "start must be a non-empty list"),
        ('start = ["python3"]\n', r"\[health\] is missing"),
        ('start = ["python3"]\nhealth = 5\n', "health must be a table"),
        ('start = ["python3"]\n[health]\npath = "healthz"\nport = 8080\n', "health.path must be a URL path"),
        ('start = ["python3"]\n[health]\nport = 8080\n', "health.path must be a URL path"),
        ('start = ["python3"]\n[health]\npath = "/h"\n', "health.port must be an integer"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = 0\n', "health.port must be an integer"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = 70000\n', "health.port must be an integer"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = "8080"\n', "health.port must be an integer"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = true\n', "health.port must be an integer"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = 1\ntimeout_seconds = 0\n', "timeout_seconds must be"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = 1\ntimeout_seconds = 301\n', "timeout_seconds must be"),
        ('start = ["python3"]\n[health]\npath = "/h"\nport = 1\nurl = "x"\n', "health.url is not a known key"),
        ('start = ["python3"]\nstop = ["x"]\n[health]\npath = "/h"\nport = 1\n', "stop is not a known key"),
    ],
)
def test_a_bad_app_file_is_refused_naming_the_key(tmp_path: Path, text: str, error: str) -> None:
    app = write_app(tmp_path / "app")
    (app / "tapstack-app.toml").write_text(text)
    with pytest.raises(ReleaseError, match=error) as exc:
        package_dir(app, "1.0.0")
    assert "tapstack-app.toml" in str(exc.value)


def test_health_timeout_defaults_to_five_seconds_and_keeps_fractions(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app")
    (app / "tapstack-app.toml").write_text('start = ["python3", "app.py"]\n[health]\npath = "/h"\nport = 9000\n')
    assert json.loads(package_dir(app, "1.0.0").manifest.body)["app"]["health"]["timeout_seconds"] == 5
    (app / "tapstack-app.toml").write_text(
        'start = ["python3", "app.py"]\n[health]\npath = "/h"\nport = 9000\ntimeout_seconds = 2.5\n'
    )
    assert json.loads(package_dir(app, "1.0.0").manifest.body)["app"]["health"]["timeout_seconds"] == 2.5
