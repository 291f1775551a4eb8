"""Lambda functions: the code archive is zipped in memory, exactly the files the program ships."""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from pathlib import Path
from typing import Any

import pulumi

from ...resource_types import FUNCTION, LAMBDA_PERMISSION
from .base import AdapterError, Request, Result, compact, pascal, resource

# A fixed timestamp: the same sources give the same zip, hence the same code hash, on every deploy.
_EPOCH = (1980, 1, 1, 0, 0, 0)


def _add(zf: zipfile.ZipFile, name: str, data: bytes) -> None:
    info = zipfile.ZipInfo(name, date_time=_EPOCH)
    info.external_attr = 0o644 << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, data)


def _add_archive(zf: zipfile.ZipFile, prefix: str, archive: Any) -> None:
    if isinstance(archive, pulumi.FileAsset):
        _add(zf, prefix, Path(archive.path).read_bytes())
    elif isinstance(archive, pulumi.StringAsset):
        _add(zf, prefix, archive.text.encode())
    elif isinstance(archive, pulumi.AssetArchive):
        for name, member in sorted(archive.assets.items()):
            _add_archive(zf, f"{prefix}/{name}" if prefix else name, member)
    elif isinstance(archive, pulumi.FileArchive):
        path = Path(archive.path)
        if path.is_dir():
            for file in sorted(p for p in path.rglob("*") if p.is_file()):
                rel = file.relative_to(path).as_posix()
                _add(zf, f"{prefix}/{rel}" if prefix else rel, file.read_bytes())
        else:
            with zipfile.ZipFile(path) as src:
                for name in sorted(src.namelist()):
                    _add(zf, f"{prefix}/{name}" if prefix else name, src.read(name))
    else:
        raise AdapterError(f"code: the emulator cannot package {type(archive).__name__} (local files only)")


def zip_code(code: Any) -> bytes:
    """A Pulumi archive (AssetArchive, FileArchive) as the zip a provider would upload."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        _add_archive(zf, "", code)
    return buffer.getvalue()


@resource(
    FUNCTION,
    "name code handler runtime role description timeout memorySize environment tracingConfig architectures "
    "layers kmsKeyArn vpcConfig deadLetterConfig reservedConcurrentExecutions publish packageType "
    "ephemeralStorage loggingConfig tags",
)
def function(req: Request) -> Result:
    client = req.client("lambda")
    name = req.physical_name()
    if req.get("code") is None:
        raise AdapterError("code is required (the emulator deploys zip packages only)")
    package = zip_code(req.get("code"))
    created = client.create_function(
        **compact(
            FunctionName=name,
            Code={"ZipFile": package},
            Handler=req.get("handler"),
            Runtime=req.get("runtime"),
            Role=req.get("role"),
            Description=req.get("description"),
            Timeout=req.get("timeout"),
            MemorySize=req.get("memorySize"),
            Environment=compact(Variables=(req.get("environment") or {}).get("variables")),
            TracingConfig=pascal(req.get("tracingConfig")),
            Architectures=req.get("architectures"),
            Layers=req.get("layers"),
            KMSKeyArn=req.get("kmsKeyArn"),
            VpcConfig=pascal(req.get("vpcConfig")),
            DeadLetterConfig=pascal(req.get("deadLetterConfig")),
            Publish=req.get("publish"),
            PackageType=req.get("packageType"),
            EphemeralStorage=pascal(req.get("ephemeralStorage")),
            LoggingConfig=pascal(req.get("loggingConfig")),
            Tags=req.tags,
        )
    )
    if req.get("reservedConcurrentExecutions") is not None:
        client.put_function_concurrency(
            FunctionName=name, ReservedConcurrentExecutions=req.get("reservedConcurrentExecutions")
        )
    arn = created["FunctionArn"]
    return name, {
        "arn": arn,
        "name": name,
        "invokeArn": (
            f"arn:{req.partition}:apigateway:{req.region}:lambda:path/2015-03-31/functions/{arn}/invocations"
        ),
        "qualifiedArn": f"{arn}:{created.get('Version', '$LATEST')}",
        "version": created.get("Version", "$LATEST"),
        "lastModified": created.get("LastModified", ""),
        "sourceCodeHash": base64.b64encode(hashlib.sha256(package).digest()).decode(),
        "sourceCodeSize": len(package),
        "tagsAll": req.tags,
    }


@resource(
    LAMBDA_PERMISSION,
    "action function principal sourceAccount sourceArn statementId qualifier",
)
def permission(req: Request) -> Result:
    """A statement of the function's resource policy (who may invoke it)."""
    statement_id = req.physical_name("statementId")
    req.client("lambda").add_permission(
        **compact(
            FunctionName=req.get("function"),
            StatementId=statement_id,
            Action=req.get("action"),
            Principal=req.get("principal"),
            SourceAccount=req.get("sourceAccount"),
            SourceArn=req.get("sourceArn"),
            Qualifier=req.get("qualifier"),
        )
    )
    return statement_id, {"statementId": statement_id}
