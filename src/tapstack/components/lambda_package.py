"""A Lambda function's code with a pinned boto3: its own package plus the installed boto3 and its dependencies.

The migration handler writes its records with S3 conditional writes (``IfNoneMatch``/``IfMatch``), which a Lambda
runtime's bundled botocore may predate. Lambda puts the archive's root first on ``sys.path``, so a boto3 shipped
in the archive wins over the runtime's. What ships is the boto3 this environment runs (and its tests passed
with), taken from the installed distributions' file lists at synth time: no download, so a synth works offline.

botocore carries the models of every AWS service (about 30 MB); the archive keeps only those of the services
the function calls. The files are copied once into a directory named after their digest, so the same code is
the same archive path on every synth (and the same Lambda code hash on every deploy).
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path, PurePosixPath

import pulumi

from ..lib import build_dirs

VENDORED_DISTRIBUTIONS = ("boto3", "botocore", "s3transfer", "jmespath", "python-dateutil", "six", "urllib3")
"""boto3 and everything it imports at run time (its and botocore's requirements, without optional extras)."""
BOTOCORE_DATA = PurePosixPath("botocore/data")
SKIPPED_SUFFIXES = (".pyc", ".pyi", ".typed")
SKIPPED_NAMES = ("examples-1.json",)
"""Documentation examples in botocore's models: never read by a client."""
INDEX_FORMAT = 1
"""Part of every index's key: raise it when what an archive holds, or how it is named, changes."""


class PackagingError(RuntimeError):
    """The installed boto3/botocore cannot make the archive the function needs."""


def _wanted(path: str, services: frozenset[str]) -> bool:
    """Whether a distribution's file (its RECORD path, ``/``-separated) ships; on strings: ~2 500 entries a run."""
    parts = path.split("/")
    name = parts[-1]
    if "__pycache__" in parts or parts[0] in ("..", "bin") or name.endswith(SKIPPED_SUFFIXES):
        return False
    if parts[0].endswith(".dist-info"):
        return name in ("METADATA", "LICENSE", "LICENSE.txt", "NOTICE")
    if name in SKIPPED_NAMES:
        return False
    if parts[: len(BOTOCORE_DATA.parts)] == list(BOTOCORE_DATA.parts) and len(parts) > len(BOTOCORE_DATA.parts) + 1:
        return parts[len(BOTOCORE_DATA.parts)] in services
    return True


def vendored_files(services: Iterable[str]) -> dict[str, Path]:
    """Archive path -> installed file, for boto3 and its dependencies with botocore models of ``services`` only."""
    wanted = frozenset(services)
    files: dict[str, Path] = {}
    for name in VENDORED_DISTRIBUTIONS:
        try:
            dist = importlib.metadata.distribution(name)
        except importlib.metadata.PackageNotFoundError:
            raise PackagingError(f"{name} is not installed: it is packaged with the function") from None
        for entry in dist.files or ():
            path = entry.as_posix()
            if _wanted(path, wanted):
                files[path] = Path(str(dist.locate_file(entry))).resolve()
    available = {p.split("/")[2] for p in files if p.startswith(f"{BOTOCORE_DATA}/") and p.count("/") > 2}
    missing = sorted(wanted - available)
    if missing:
        raise PackagingError(f"the installed botocore has no model for {', '.join(missing)}")
    return files


def build_root() -> Path:
    """Where archives are assembled: ``build/lambda`` of a source checkout, else the user's cache directory."""
    return build_dirs.build_root("lambda")


def _digest(files: Mapping[str, Path]) -> str:
    h = hashlib.sha256()
    for archive_path, file in sorted(files.items()):
        h.update(archive_path.encode() + b"\0" + file.read_bytes() + b"\0")
    return h.hexdigest()[:16]


def assemble(name: str, files: Mapping[str, Path], root: Path | None = None) -> Path:
    """The directory holding exactly ``files``, created once per content (``<name>-<digest>``)."""
    target = (root or build_root()) / f"{name}-{_digest(files)}"
    if target.is_dir():
        return target
    staging = target.with_name(f"{target.name}.tmp-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    for archive_path, file in files.items():
        dest = staging / archive_path
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(file, dest)
    try:
        staging.rename(target)
    except OSError:  # another synth assembled the same content first
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _stamp(file: Path) -> list[int]:
    about = file.stat()
    return [about.st_size, about.st_mtime_ns]


def _installed_version(dist: str) -> str | None:
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return None  # matches no index: vendored_files then says what is missing


def _index_key(name: str, own: Mapping[str, Path], services: frozenset[str]) -> list[object]:
    """What an index must match besides its files' stamps: a newer boto3 can ship files the old list lacks."""
    versions = {dist: _installed_version(dist) for dist in VENDORED_DISTRIBUTIONS}
    return [INDEX_FORMAT, name, sorted(services), versions, sorted([k, str(v)] for k, v in own.items())]


def _indexed(index: Path, key: list[object]) -> Path | None:
    """The directory an earlier process assembled, if every file it was made of is as it was then."""
    try:
        kept = json.loads(index.read_text())
        if kept["key"] != key:
            return None
        for file, size, mtime_ns in kept["files"]:
            if _stamp(Path(file)) != [size, mtime_ns]:
                return None
        directory = index.parent / kept["directory"]
    except (OSError, ValueError, KeyError, TypeError):
        return None  # not indexed yet, unreadable, or a file gone: assemble it again
    return directory if directory.is_dir() else None


def _assemble_indexed(name: str, own: Mapping[str, Path], services: frozenset[str]) -> Path:
    root = build_root()
    index = root / f"{name}.index.json"
    key = _index_key(name, own, services)
    directory = _indexed(index, key)
    if directory is not None:
        return directory
    files = {**vendored_files(services), **own}
    stamps = [[str(file), *_stamp(file)] for file in files.values()]  # before the digest reads them
    directory = assemble(name, files, root)
    build_dirs.keep(index, json.dumps({"key": key, "files": stamps, "directory": directory.name}).encode())
    return directory


_ASSEMBLED: dict[tuple[str, tuple[tuple[str, Path], ...], frozenset[str]], Path] = {}
"""Archives already assembled in this process: every region's function ships the same code."""


def function_archive(name: str, own: Mapping[str, Path], services: Iterable[str]) -> pulumi.FileArchive:
    """The function's own files plus a pinned boto3 limited to ``services``, as one directory archive.

    Listing the installed distributions and hashing the ~290 files shipped cost ~40 ms; a process finds what an
    earlier one assembled through the index (~5 ms), and each region after the first in this process for free.
    """
    key = (name, tuple(sorted(own.items())), frozenset(services))
    directory = _ASSEMBLED.get(key)
    if directory is None or not directory.is_dir():
        directory = _ASSEMBLED[key] = _assemble_indexed(name, own, key[2])
    return pulumi.FileArchive(str(directory))
