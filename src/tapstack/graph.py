"""The resource graph: what a program registered, shared by synth, check, diagram and the emulator.

JSON form: ``{"stack", "resources": [{"urn", "type", "name", "region", "provider", "parent",
"dependencies", "inputs", "outputs"}], "outputs"}`` with the engine's camelCase property names.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PROVIDER_PREFIX = "pulumi:providers:"
SECRET_PLACEHOLDER = "[secret]"
"""What a secret output or input reads as in a graph written without ``--show-secrets``."""


def short_type(token: str) -> str:
    """``aws:s3/bucketPolicy:BucketPolicy`` -> ``s3:BucketPolicy``: what a reader scans for."""
    _, module, name = token.split(":", 2)
    return f"{module.split('/')[0]}:{name}"


@dataclass
class Resource:
    urn: str
    type: str
    name: str
    region: str | None = None
    provider: str | None = None
    parent: str | None = None
    dependencies: list[str] = field(default_factory=list)
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    custom: bool = True

    @property
    def is_provider(self) -> bool:
        return self.type.startswith(PROVIDER_PREFIX)

    @property
    def is_component(self) -> bool:
        return not self.custom

    def prop(self, key: str, default: Any = None) -> Any:
        """An input, else the output of the same name (the engine may fill in defaults)."""
        if key in self.inputs and self.inputs[key] is not None:
            return self.inputs[key]
        return self.outputs.get(key, default)


@dataclass
class Graph:
    stack: str
    resources: list[Resource] = field(default_factory=list)
    outputs: dict[str, Any] = field(default_factory=dict)

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.resources)

    def of_type(self, *types: str) -> list[Resource]:
        return [r for r in self.resources if r.type in types]

    def by_urn(self) -> dict[str, Resource]:
        return {r.urn: r for r in self.resources}

    def aws_resources(self) -> list[Resource]:
        """Custom AWS resources (not providers, not components)."""
        return [r for r in self.resources if r.custom and r.type.startswith("aws:")]

    def find_by_id(self, resource_id: Any) -> Resource | None:
        for r in self.resources:
            if r.outputs.get("id") == resource_id:
                return r
        return None

    def counts(self) -> Counter[tuple[str, str]]:
        """Resources per (type, region), for the synth summary."""
        return Counter((r.type, r.region or "-") for r in self.aws_resources())

    def to_dict(self) -> dict[str, Any]:
        return {"stack": self.stack, "resources": [asdict(r) for r in self.resources], "outputs": self.outputs}

    def write(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=2, sort_keys=False, default=str) + "\n")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Graph:
        if not isinstance(data, dict) or "resources" not in data:
            raise ValueError("not a TapStack graph: expected an object with 'resources'")
        known = {f for f in Resource.__dataclass_fields__}
        resources = [Resource(**{k: v for k, v in r.items() if k in known}) for r in data["resources"]]
        return cls(stack=data.get("stack", "unknown"), resources=resources, outputs=data.get("outputs", {}))

    @classmethod
    def read(cls, path: Path) -> Graph:
        try:
            return cls.from_dict(json.loads(path.read_text()))
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}: not JSON ({err})") from None
