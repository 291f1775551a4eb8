"""Download one artifact, exactly the promoted version, hashing while writing; refuse it on any mismatch."""

from __future__ import annotations

import errno
import hashlib
from pathlib import Path
from typing import Any, BinaryIO

from botocore.exceptions import BotoCoreError, ClientError

from .errors import Refused
from .pointer import Artifact
from .s3util import describe, is_missing

CHUNK = 1024 * 1024


def write_chunks(body: Any, out: BinaryIO, digest: Any) -> None:
    """Stream an S3 body to ``out`` in bounded memory, feeding ``digest`` as it goes."""
    for chunk in iter(lambda: body.read(CHUNK), b""):
        digest.update(chunk)
        out.write(chunk)


def download(s3: Any, bucket: str, artifact: Artifact, dest: Path) -> None:
    """``artifact`` at ``dest``, its sha256 checked; Refused (and ``dest`` removed) otherwise."""
    url = f"s3://{bucket}/{artifact.key}" + (f" version {artifact.version_id}" if artifact.version_id else "")
    args = {"Bucket": bucket, "Key": artifact.key}
    if artifact.version_id:
        args["VersionId"] = artifact.version_id
    digest = hashlib.sha256()
    try:
        body = s3.get_object(**args)["Body"]
        with dest.open("wb") as out:
            write_chunks(body, out, digest)
    except ClientError as exc:
        dest.unlink(missing_ok=True)
        if is_missing(exc):
            raise Refused(f"artifact {url} does not exist") from None
        raise Refused(f"cannot download artifact {url}: {describe(exc)}", permanent=False) from None
    except BotoCoreError as exc:
        dest.unlink(missing_ok=True)
        raise Refused(f"cannot download artifact {url}: {describe(exc)}", permanent=False) from None
    except OSError as exc:
        dest.unlink(missing_ok=True)
        if exc.errno == errno.ENOSPC:
            raise Refused(f"disk full while downloading artifact {url} to {dest.parent}", permanent=False) from None
        raise Refused(f"cannot write artifact {url} to {dest}: {exc.strerror or exc}", permanent=False) from None
    actual = digest.hexdigest()
    if actual != artifact.sha256:
        dest.unlink(missing_ok=True)
        raise Refused(f"artifact {url} has sha256 {actual}, the release promised {artifact.sha256}")
