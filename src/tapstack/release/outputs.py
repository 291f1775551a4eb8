"""The deployed stack as the release sees it, from the outputs file (``pulumi stack output --json`` or the
emulator's ``flat-outputs.json``): the same flat, region-prefixed keys either way."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..lib.regions import region_code
from .errors import ReleaseError

REQUIRED_PER_REGION = ("deployment_bucket", "function_name", "alarm_topic_arn")


@dataclass(frozen=True)
class RegionOutputs:
    region: str
    bucket: str
    function_name: str
    alarm_topic_arn: str
    asg_name: str | None
    """None when the region has no compute: nothing runs there to converge."""


@dataclass(frozen=True)
class StackOutputs:
    primary: str
    regions: tuple[RegionOutputs, ...]
    source: str

    def region(self, name: str) -> RegionOutputs:
        for r in self.regions:
            if r.region == name:
                return r
        raise ReleaseError(f"region {name} is not in the stack ({self.source}): it has {', '.join(self.names)}")

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.region for r in self.regions)

    @property
    def secondaries(self) -> tuple[RegionOutputs, ...]:
        return tuple(r for r in self.regions if r.region != self.primary)

    @classmethod
    def parse(cls, doc: Any, source: str) -> StackOutputs:
        if not isinstance(doc, dict):
            raise ReleaseError(f"{source}: expected a JSON object of stack outputs, got {type(doc).__name__}")
        primary, regions = doc.get("primary_region"), doc.get("regions")
        if not isinstance(primary, str) or not isinstance(regions, list) or primary not in regions:
            raise ReleaseError(
                f"{source}: primary_region and regions are missing or disagree; is this the outputs file of a "
                "TapStack stack (`pulumi stack output --json > outputs.json`)?"
            )
        twice = sorted({str(r) for r in regions if regions.count(r) > 1})
        if twice:
            raise ReleaseError(
                f"{source}: regions names {', '.join(twice)} more than once; a release would migrate and roll back "
                "the same region twice"
            )
        built: list[RegionOutputs] = []
        missing: list[str] = []
        for region in regions:
            try:
                code = region_code(str(region))
            except ValueError as err:
                raise ReleaseError(f"{source}: {err}") from None
            values = {k: doc.get(f"{code}_{k}") for k in (*REQUIRED_PER_REGION, "asg_name")}
            absent = [f"{code}_{k}" for k in REQUIRED_PER_REGION if not isinstance(values[k], str) or not values[k]]
            if absent:
                missing += absent
                continue
            asg = values["asg_name"]
            built.append(
                RegionOutputs(
                    region=str(region),
                    bucket=str(values["deployment_bucket"]),
                    function_name=str(values["function_name"]),
                    alarm_topic_arn=str(values["alarm_topic_arn"]),
                    asg_name=asg if isinstance(asg, str) and asg else None,
                )
            )
        if missing:
            raise ReleaseError(
                f"{source} lacks {', '.join(missing)}: the release needs every region's migration platform "
                "(features.migration on) and the outputs of its latest deploy"
            )
        return cls(primary, tuple(built), source)

    @classmethod
    def load(cls, path: Path) -> StackOutputs:
        if not path.is_file():
            raise ReleaseError(
                f"{path}: no such outputs file; write it with `pulumi stack output --json > {path}` "
                "or `tapstack up --local --outputs`"
            )
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ReleaseError(f"{path}: not a JSON outputs file ({err})") from None
        except RecursionError:
            raise ReleaseError(f"{path}: not a stack outputs file (JSON nested too deeply to read)") from None
        return cls.parse(doc, str(path))
