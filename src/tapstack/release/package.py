"""A deterministic archive of the application directory and the manifest the handler and the agent read.

Same input, same bytes: entries sorted, every owner, group and timestamp fixed, modes reduced to 0644/0755,
gzip header without a name or a time. So a re-run of the same release finds its objects already uploaded
(same sha256) and skips them, and anyone can rebuild an archive to check what a region runs.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import stat
import tarfile
from dataclasses import dataclass
from pathlib import Path

from ..contract import ARTIFACTS_PREFIX
from .appspec import APP_FILE, AppSpec, check_version, load_app_spec
from .errors import ReleaseError

ARCHIVE_NAME = "app.tar.gz"
MANIFEST_NAME = "manifest.json"
SKIPPED_DIRS = frozenset({"__pycache__", ".git"})
SKIPPED_SUFFIXES = (".pyc",)
"""Local by-products that differ from one checkout to the next and would change the archive's sha256."""


@dataclass(frozen=True)
class Artifact:
    key: str
    body: bytes
    sha256: str

    @classmethod
    def of(cls, key: str, body: bytes) -> Artifact:
        return cls(key, body, hashlib.sha256(body).hexdigest())


@dataclass(frozen=True)
class Package:
    version: str
    artifacts: tuple[Artifact, ...]
    manifest: Artifact
    files: int
    """Files in the application archive, for the plan."""

    @property
    def objects(self) -> tuple[Artifact, ...]:
        """What is uploaded, manifest last: a manifest in the bucket means every artifact is there."""
        return (*self.artifacts, self.manifest)


def version_prefix(version: str) -> str:
    return f"{ARTIFACTS_PREFIX}{version}/"


def manifest_key(version: str) -> str:
    return f"{version_prefix(version)}{MANIFEST_NAME}"


def _entries(directory: Path) -> list[Path]:
    """Every file and directory to archive, relative and sorted; symlinks and special files refused."""
    found: list[Path] = []
    for root, dirs, files in os.walk(directory, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIPPED_DIRS)
        base = Path(root)
        for name in [*dirs, *sorted(files)]:
            path = base / name
            if name.endswith(SKIPPED_SUFFIXES):
                continue
            mode = path.lstat().st_mode
            if stat.S_ISLNK(mode):
                raise ReleaseError(f"{path} is a symbolic link: copy the file it points to into the app directory")
            if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                raise ReleaseError(f"{path} is not a regular file or directory: it cannot be packaged")
            found.append(path.relative_to(directory))
    return sorted(found, key=lambda p: p.as_posix())


def archive(directory: Path) -> tuple[bytes, int]:
    """The gzip'd tar of ``directory`` and its file count; identical bytes for identical content."""
    entries = _entries(directory)
    tar_bytes = io.BytesIO()
    files = 0
    with tarfile.open(fileobj=tar_bytes, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in entries:
            path = directory / rel
            info = tarfile.TarInfo(rel.as_posix())
            info.mtime = 0
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            mode = path.stat().st_mode
            if stat.S_ISDIR(mode):
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
                continue
            info.mode = 0o755 if mode & 0o111 else 0o644
            info.size = path.stat().st_size
            with path.open("rb") as handle:
                tar.addfile(info, handle)
            files += 1
    out = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=out, mtime=0, compresslevel=9) as gz:
        gz.write(tar_bytes.getvalue())
    return out.getvalue(), files


def manifest_body(version: str, artifacts: tuple[Artifact, ...], app: AppSpec) -> bytes:
    """manifest.json, canonical (sorted keys, no timestamp) so the same release always has the same bytes."""
    doc = {
        "release": version,
        "artifacts": [{"key": a.key, "sha256": a.sha256} for a in artifacts],
        "app": app.manifest_app(),
    }
    return (json.dumps(doc, indent=2, sort_keys=True) + "\n").encode()


def build(version: str, artifacts: tuple[Artifact, ...], app: AppSpec, files: int) -> Package:
    """A package of any artifacts under the version's prefix (the app archive, or more for large releases)."""
    prefix = version_prefix(check_version(version))
    outside = [a.key for a in artifacts if not a.key.startswith(prefix) or a.key == manifest_key(version)]
    if outside:
        raise ReleaseError(f"artifact key {outside[0]!r} must be under {prefix} and not the manifest itself")
    manifest = Artifact.of(manifest_key(version), manifest_body(version, artifacts, app))
    return Package(version, artifacts, manifest, files)


def package_dir(directory: Path, version: str) -> Package:
    """Everything checked before any network call: the version, the directory, its app file, its content."""
    check_version(version)
    if not directory.exists():
        raise ReleaseError(f"{directory} does not exist: give the directory of the application to release")
    if not directory.is_dir():
        raise ReleaseError(f"{directory} is not a directory: give the directory of the application to release")
    if not any(directory.iterdir()):
        raise ReleaseError(f"{directory} is empty: give the directory of the application to release")
    spec = load_app_spec(directory)
    body, files = archive(directory)
    if files < 2:
        raise ReleaseError(f"{directory} holds nothing to run besides {APP_FILE}: add the application's files")
    return build(version, (Artifact.of(f"{version_prefix(version)}{ARCHIVE_NAME}", body),), spec, files)
