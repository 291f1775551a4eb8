"""moto's AWS managed policies, read once per process instead of once per IAM backend.

The emulator tells moto to load AWS managed policies (the program attaches AmazonSSMManagedInstanceCore, which
must exist as it does in AWS). moto then builds an IAM backend's ~1,300 managed policies from scratch every time
it makes one, for each account it serves and again at every reset: it parses its 4 MB table of them and writes
each document back to JSON text, about 0.5 s each time (0.7 s of CPU under coverage), and a process that has
served the emulator pays it on every ``mock_aws`` start and stop after that. Here the parsed table and each
document's text are kept for the process; every backend still gets policy objects of its own, built by moto's
own ``AWSManagedPolicy`` with the same fields, so attaching or versioning one in an account changes no other.
"""

from __future__ import annotations

import functools
import json
from datetime import datetime
from typing import Any, NamedTuple

from .patches import wrap


class _Entry(NamedTuple):
    name: str
    default_version_id: str | None
    path: str | None
    document: str
    create_date: datetime
    update_date: datetime


@functools.cache
def table() -> tuple[_Entry, ...]:
    """moto's AWS managed policies with their documents as JSON text, as its ``AWSManagedPolicy.from_data``
    reads them."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return tuple(
        _Entry(
            name,
            data.get("DefaultVersionId"),
            data.get("Path"),
            json.dumps(data.get("Document")),
            datetime.fromisoformat(data["CreateDate"]),
            datetime.fromisoformat(data["UpdateDate"]),
        )
        for name, data in json.loads(aws_managed_policies_data).items()
    )


def _init_aws_policies(backend: Any) -> list[Any]:
    """``IAMBackend._init_aws_policies`` on the kept table."""
    from moto.iam import models
    from moto.settings import load_iam_aws_managed_policies

    if not load_iam_aws_managed_policies():
        return []
    make: Any = models.AWSManagedPolicy  # moto's class, concrete at run time (its typing marks it abstract)
    return [
        make(
            entry.name,
            account_id=backend.account_id,
            region=backend.region_name,
            default_version_id=entry.default_version_id,
            path=entry.path,
            document=entry.document,
            create_date=entry.create_date,
            update_date=entry.update_date,
        )
        for entry in table()
    ]


def install() -> None:
    """Make moto's IAM backends read the kept table (idempotent)."""
    from moto.iam.models import IAMBackend

    wrap(IAMBackend, "_init_aws_policies", lambda _: _init_aws_policies)
