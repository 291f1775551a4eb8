"""Unpack a verified release beside the serving one, then switch ``current`` to it in one rename.

Layout under the root: ``releases/<release>/`` (one per release, unpacked complete before anything points at
it) and ``current``, a symlink replaced with ``os.replace`` so that at every instant it names one whole
release. Archives hold regular files and directories only: links, devices and any path that would land
outside the release directory are refused before a byte is written.
"""

from __future__ import annotations

import errno
import gzip
import os
import posixpath
import re
import shutil
import tarfile
import tempfile
import zlib
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from .errors import Refused
from .fetch import download
from .pointer import Plan

ARCHIVE_SUFFIXES = (".tar.gz", ".tgz")
_UNSAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
MAX_UNPACKED_BYTES = 2 * 1024**3
"""What the files of one release may add up to once unpacked (2 GiB): a small archive of zeros must not fill the
disk the serving release and the agent's state live on."""
MAX_MEMBER_DEPTH = 32
"""Path components of one archive member: deeper is no application layout, and 1000 levels crashed the pass."""
_ARCHIVE_FAULTS = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.EISDIR, errno.EEXIST, errno.ELOOP})
"""Errors writing a member that the archive causes (a name too long, a file where a directory must be): trying
again cannot help, so they refuse the release for good, unlike a full disk."""


def releases_dir(root: Path) -> Path:
    return root / "releases"


def current_link(root: Path) -> Path:
    return root / "current"


def directory_name(release: str) -> str:
    """A release name as one safe path component (release names are free text up to 128 characters)."""
    name = _UNSAFE_NAME.sub("_", release)
    return name if not name.startswith(".") else "_" + name


def _member_path(member: tarfile.TarInfo, archive: str) -> str:
    """The member's normalized relative path, or Refused when it is not a plain file or directory inside."""
    name = member.name
    if not (member.isfile() or member.isdir()):
        kind = "link" if (member.issym() or member.islnk()) else "special file"
        raise Refused(f"{archive}: member {name!r} is a {kind}; releases may hold regular files and directories only")
    normalized = posixpath.normpath(name.replace("\\", "/"))
    if name.startswith("/") or normalized == ".." or normalized.startswith("../") or "\x00" in name:
        raise Refused(f"{archive}: member {name!r} would be written outside the release directory")
    depth = normalized.count("/") + 1
    if depth > MAX_MEMBER_DEPTH:
        raise Refused(
            f"{archive}: member {name[:80]!r}... is {depth} directories deep; at most {MAX_MEMBER_DEPTH} are unpacked"
        )
    return normalized


def unpack(archive: Path, target: Path, label: str) -> None:
    """Extract ``archive`` into ``target`` member by member, with modes reduced to 0644/0755."""
    try:
        with tarfile.open(archive, "r:*") as tar:
            checked = [(member, _member_path(member, label)) for member in tar.getmembers()]
            total = sum(member.size for member, _ in checked if member.isfile())
            if total > MAX_UNPACKED_BYTES:
                raise Refused(
                    f"{label} unpacks to {total} bytes; a release may unpack to at most {MAX_UNPACKED_BYTES} bytes"
                )
            for member, relative in checked:
                try:
                    _write_member(tar, member, target / relative, label)
                except OSError as exc:
                    if exc.errno not in _ARCHIVE_FAULTS:
                        raise  # a full disk, a permission on the root: the caller's transient refusal
                    raise Refused(f"{label}: member {member.name[:200]!r} cannot be unpacked: {exc.strerror}") from None
    except (tarfile.TarError, gzip.BadGzipFile, EOFError, zlib.error, UnicodeError) as exc:
        raise Refused(f"{label} is not a readable tar.gz archive ({exc})") from None


def _write_member(tar: tarfile.TarFile, member: tarfile.TarInfo, dest: Path, label: str) -> None:
    if member.isdir():
        dest.mkdir(parents=True, exist_ok=True)
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    source = tar.extractfile(member)
    if source is None:
        raise Refused(f"{label}: member {member.name!r} has no data")
    with source, dest.open("wb") as out:
        shutil.copyfileobj(source, out)
    dest.chmod(0o755 if member.mode & 0o111 else 0o644)


def _place(s3: Any, bucket: str, plan: Plan, staging: Path, downloads: Path) -> None:
    names: dict[str, str] = {}
    for artifact in plan.artifacts:
        base = posixpath.basename(artifact.key)
        if not base:
            raise Refused(f"artifact key {artifact.key!r} names no file")
        local = downloads / f"{len(names)}-{base}"
        download(s3, bucket, artifact, local)
        if base.endswith(ARCHIVE_SUFFIXES):
            unpack(local, staging, f"artifact {artifact.key}")
            continue
        if base in names:
            raise Refused(f"artifacts {names[base]} and {artifact.key} would both be written as {base}")
        names[base] = artifact.key
        os.replace(local, staging / base)


def stage(s3: Any, bucket: str, plan: Plan, root: Path, serving: Iterable[Path]) -> Path:
    """Every artifact of ``plan`` downloaded, verified and unpacked into its release directory.

    Work happens in a temporary directory under ``releases/`` (same filesystem, so the final rename is
    atomic); a failure removes it and leaves every installed release as it was. A release directory that is
    serving (or is the one to return to) is never overwritten: a re-promoted release name with different
    contents gets a directory suffixed with its digest.
    """
    base = releases_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    target = base / directory_name(plan.release)
    keep = {p.resolve() for p in serving}
    if target.resolve() in keep:
        target = base / f"{directory_name(plan.release)}-{plan.digest[:12]}"
    try:
        work = Path(tempfile.mkdtemp(prefix=".staging-", dir=base))
    except OSError as exc:
        raise _os_refusal(exc, base) from None
    try:
        staging, downloads = work / "release", work / "downloads"
        staging.mkdir()
        downloads.mkdir()
        _place(s3, bucket, plan, staging, downloads)
        if target.exists() and target.resolve() not in keep:
            shutil.rmtree(target)
        os.replace(staging, target)
    except OSError as exc:
        raise _os_refusal(exc, base) from None
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


def _os_refusal(exc: OSError, where: Path) -> Refused:
    if exc.errno == errno.ENOSPC:
        return Refused(f"disk full while unpacking into {where}", permanent=False)
    return Refused(f"cannot unpack into {where}: {exc.strerror or exc}", permanent=False)


def switch(root: Path, target: Path) -> None:
    """Point ``current`` at ``target`` atomically: a new symlink renamed over the old one."""
    link = current_link(root)
    temporary = root / f".current-{os.getpid()}"
    temporary.unlink(missing_ok=True)
    os.symlink(os.path.relpath(target, root), temporary)
    os.replace(temporary, link)


def unlink_current(root: Path) -> None:
    current_link(root).unlink(missing_ok=True)


def prune(root: Path, keep: Iterable[Path]) -> None:
    """Remove release directories nothing can return to, so releases do not fill the disk over time.

    Staging directories go too: one pass runs at a time (the timer's unit is a oneshot), so one left here
    was abandoned by an agent killed while unpacking, and would otherwise stay for good.
    """
    kept = {p.resolve() for p in keep}
    base = releases_dir(root)
    if not base.is_dir():
        return
    for entry in base.iterdir():
        if entry.is_dir() and entry.resolve() not in kept:
            shutil.rmtree(entry, ignore_errors=True)
