"""The simulated fleet: the real release agent, once per instance the emulator's Auto Scaling Group launched.

moto starts instances for a group but runs nothing on them. Here each instance gets what EC2 would give it:
credentials of the launch template's instance-profile role (assumed with the instance id as session name, so
its ``aws:userid`` is ``<role id>:<instance id>`` exactly as on EC2), a root directory of its own (its disk)
and its application as a real process on a loopback port of its own (its network interface; the agent's
port override replaces the manifest's health port, which every instance would otherwise share). One
``converge(region)`` is one timer tick on every instance: ``tapstack.agent.cycle.run_once``, the same code
the systemd timer runs on AWS, so migrate and rollback make this fleet converge the way a real one does.

IAM: with ``enforce_iam`` the emulator evaluates every agent request against the role's own policies for
the time of the pass. moto's switch is process-wide: while it is on, requests signed with the emulator's
dummy keys (the in-process handler, the CLI's own clients) are refused, so enforce only when nothing else
calls the emulator during a pass (sequential use, tests); a release whose regions run in parallel threads
should pass ``enforce_iam=False``.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from ..agent.config import AgentConfig
from ..agent.cycle import run_once
from ..agent.heartbeat import HeartbeatUndelivered
from ..agent.service import ProcessService
from ..contract import Health, Heartbeat
from ..lib.regions import region_code
from .engine import Clients
from .loopback import EmulatorError
from .server import Emulator
from .sessions import client

ACTIVE_STATES = frozenset({"Pending", "Pending:Wait", "Pending:Proceed", "InService"})
"""Lifecycle states in which an instance is booted and its agent's timer runs."""
CREDENTIAL_SECONDS = 3600
REFRESH_SECONDS = 3000
"""Re-assume the role well before the session expires, as the instance metadata service does."""
WORKERS = 8


def free_port() -> int:
    """A loopback port the OS reports free now (the app binds it a moment later)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True)
class RegionTarget:
    """A region whose group runs instances and whose deployment bucket they follow."""

    region: str
    asg_name: str
    bucket: str

    @classmethod
    def from_outputs(cls, outputs: Mapping[str, Any]) -> list[RegionTarget]:
        """Every region of the flat stack outputs with both compute (``<code>_asg_name``) and a deployment bucket."""
        found = []
        for region in outputs.get("regions") or []:
            code = region_code(str(region))
            asg, bucket = outputs.get(f"{code}_asg_name"), outputs.get(f"{code}_deployment_bucket")
            if isinstance(asg, str) and asg and isinstance(bucket, str) and bucket:
                found.append(cls(str(region), asg, bucket))
        return found


@dataclass
class SimulatedInstance:
    region: str
    instance_id: str
    role_arn: str
    root: Path
    port: int
    service: ProcessService
    clients: tuple[Any, Any] | None = None
    """(s3, sts) acting as the instance role; renewed before the session expires."""
    assumed_at: float = 0.0
    last: Heartbeat | None = None
    undelivered: str = ""
    """Why the last heartbeat could not be written ("" when it was)."""

    @property
    def url(self) -> str:
        """Where the instance's application answers (its /healthz names the release it serves)."""
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Fleet:
    emulator: Emulator
    targets: dict[str, RegionTarget]
    workdir: Path
    enforce_iam: bool = True
    instances: dict[str, dict[str, SimulatedInstance]] = field(default_factory=dict)
    """region -> instance id -> instance."""
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _admin: Clients | None = None

    @classmethod
    def start(
        cls,
        emulator: Emulator,
        outputs: Mapping[str, Any],
        *,
        enforce_iam: bool = True,
        workdir: Path | None = None,
    ) -> Fleet:
        """A fleet for every region of ``outputs`` (the flat stack outputs) that has compute; nothing runs yet."""
        root = workdir or Path(tempfile.mkdtemp(prefix="tapstack-fleet-"))
        root.mkdir(parents=True, exist_ok=True)
        targets = {t.region: t for t in RegionTarget.from_outputs(outputs)}
        return cls(emulator, targets, root, enforce_iam, {region: {} for region in targets}, _admin=Clients(emulator))

    @property
    def regions(self) -> list[str]:
        return sorted(self.targets)

    def converge(self, region: str) -> list[Heartbeat]:
        """One agent pass on every running instance of the region's group, in parallel; their heartbeats.

        Instances launched since the last pass (scale-out, replacement) join, as a booted instance's timer
        would start; instances gone from the group have their application stopped.
        """
        target = self.targets.get(region)
        if target is None:
            raise KeyError(f"no simulated fleet in {region}: the stack has compute in {', '.join(self.regions)}")
        with self._lock:
            members = self._sync(target)
            for member in members:
                self._credentials(member)
            with self._enforced():
                workers = max(1, min(WORKERS, len(members)))
                with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="agent") as pool:
                    beats = list(pool.map(lambda m: self._pass(target, m), members))
        return beats

    def sync(self, region: str) -> list[SimulatedInstance]:
        """The group's running instances now (joined and left as in ``converge``), without an agent pass."""
        with self._lock:
            return self._sync(self.targets[region])

    def refresh(self, region: str) -> list[int]:
        """An instance refresh of the region's group with its deployed preferences (``instance_refresh``):
        how many instances served before and after each move."""
        from .instance_refresh import refresh

        return refresh(self, region)

    def converge_all(self) -> dict[str, list[Heartbeat]]:
        return {region: self.converge(region) for region in self.regions}

    def heartbeats(self, region: str) -> list[Heartbeat]:
        """The last heartbeat of each instance in the region (instances that never ran a pass are left out)."""
        return [m.last for m in self.instances.get(region, {}).values() if m.last is not None]

    def summary(self, region: str) -> str:
        """One line for the deploy table: ``2/2 on 1.0.0, healthy`` or ``1/2 on 1.1.0, 1 unhealthy``."""
        members = list(self.instances.get(region, {}).values())
        if not members:
            return "no instances"
        beats = [m.last for m in members if m.last is not None]
        releases = sorted({b.release for b in beats if b.release is not None})
        if not releases:
            return f"{len(members)} instance{'s' if len(members) != 1 else ''}, no release yet"
        newest = max(releases, key=lambda r: sum(1 for b in beats if b.release == r))
        on = sum(1 for b in beats if b.release == newest and b.health == Health.HEALTHY)
        unhealthy = sum(1 for b in beats if b.health != Health.HEALTHY)
        state = "healthy" if unhealthy == 0 and on == len(members) else f"{unhealthy} unhealthy"
        return f"{on}/{len(members)} on {newest}, {state}"

    def problems(self, region: str) -> list[str]:
        """``i-...: reason`` for every unhealthy or silent instance (no release yet is no problem: nothing to serve)."""
        return [
            f"{m.instance_id}: {m.undelivered or (m.last.reason if m.last else 'no pass yet')}"
            for m in self.instances.get(region, {}).values()
            if m.undelivered or m.last is None or m.last.health == Health.UNHEALTHY
        ]

    def stop(self) -> None:
        """Stop every application process, remove the instances' directories, and leave IAM unenforced.

        A pass cut off between switching IAM enforcement on and off would otherwise leave the kept emulator
        refusing every later caller signed with its dummy keys (``invoke``, the AWS CLI's exports).
        """
        with self._lock:
            for members in self.instances.values():
                for member in members.values():
                    member.service.stop()
                members.clear()
            shutil.rmtree(self.workdir, ignore_errors=True)
        if self.enforce_iam:
            with contextlib.suppress(EmulatorError):
                self.emulator.enforce_iam(False)

    def __enter__(self) -> Fleet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- one region's instances ---------------------------------------------------------------------

    @property
    def admin(self) -> Clients:
        """The emulator's own clients (dummy keys): what EC2 and Auto Scaling know, and STS to assume roles."""
        if self._admin is None:
            self._admin = Clients(self.emulator)
        return self._admin

    def _sync(self, target: RegionTarget) -> list[SimulatedInstance]:
        admin = self.admin
        groups = admin("autoscaling", target.region).describe_auto_scaling_groups(
            AutoScalingGroupNames=[target.asg_name]
        )["AutoScalingGroups"]
        if not groups:
            raise LookupError(f"Auto Scaling group {target.asg_name} does not exist in {target.region}")
        group = groups[0]
        running = sorted(i["InstanceId"] for i in group["Instances"] if i["LifecycleState"] in ACTIVE_STATES)
        known = self.instances.setdefault(target.region, {})
        for gone in set(known) - set(running):
            known.pop(gone).service.stop()
        new = [i for i in running if i not in known]
        if new:
            role_arn = _instance_role(admin, target.region, group)
            for instance_id in new:
                root = self.workdir / target.region / instance_id
                known[instance_id] = SimulatedInstance(
                    target.region, instance_id, role_arn, root, free_port(), ProcessService(root / "app.log")
                )
        return [known[i] for i in running]

    def _credentials(self, member: SimulatedInstance) -> None:
        """(Re)assume the instance role as EC2 does for the instance: session name = instance id."""
        if member.clients is not None and time.monotonic() - member.assumed_at < REFRESH_SECONDS:
            return
        from botocore.config import Config

        sts = self.admin("sts", member.region)
        credentials = sts.assume_role(
            RoleArn=member.role_arn, RoleSessionName=member.instance_id, DurationSeconds=CREDENTIAL_SECONDS
        )["Credentials"]
        config = Config(s3={"addressing_style": "path"}, retries={"max_attempts": 2, "mode": "standard"})
        ca_bundle, region = self.emulator.ca_bundle, member.region
        member.clients = (
            client("s3", region, self.emulator.url, ca_bundle, config, credentials),
            client("sts", region, self.emulator.url, ca_bundle, config, credentials),
        )
        member.assumed_at = time.monotonic()

    @contextmanager
    def _enforced(self) -> Iterator[None]:
        if not self.enforce_iam:
            yield
            return
        try:
            self.emulator.enforce_iam(True)
            yield
        finally:
            self.emulator.enforce_iam(False)

    def _pass(self, target: RegionTarget, member: SimulatedInstance) -> Heartbeat:
        assert member.clients is not None
        s3, sts = member.clients
        config = AgentConfig(region=target.region, bucket=target.bucket, root=member.root, port=member.port)
        try:
            member.last, member.undelivered = run_once(config, s3, sts, member.service), ""
        except HeartbeatUndelivered as exc:
            member.last, member.undelivered = exc.heartbeat, str(exc)
        return member.last


def _instance_role(admin: Clients, region: str, group: Mapping[str, Any]) -> str:
    """The role of the instance profile the group's launch template names: what EC2 would hand the instance."""
    spec = group.get("LaunchTemplate") or group.get("MixedInstancesPolicy", {}).get("LaunchTemplate", {}).get(
        "LaunchTemplateSpecification"
    )
    if not spec:
        raise LookupError(f"group {group['AutoScalingGroupName']} has no launch template")
    ec2 = admin("ec2", region)
    selector = {"LaunchTemplateId": spec["LaunchTemplateId"]} if spec.get("LaunchTemplateId") else {}
    if not selector:
        selector = {"LaunchTemplateName": spec["LaunchTemplateName"]}
    version = str(spec.get("Version") or "$Default")
    data = ec2.describe_launch_template_versions(**selector, Versions=[version])["LaunchTemplateVersions"][0][
        "LaunchTemplateData"
    ]
    profile_arn = (data.get("IamInstanceProfile") or {}).get("Arn") or ""
    profile_name = (data.get("IamInstanceProfile") or {}).get("Name") or profile_arn.rsplit("/", 1)[-1]
    if not profile_name:
        raise LookupError(f"launch template {spec} gives its instances no instance profile")
    roles = admin("iam", region).get_instance_profile(InstanceProfileName=profile_name)["InstanceProfile"]["Roles"]
    if not roles:
        raise LookupError(f"instance profile {profile_name} has no role")
    return str(roles[0]["Arn"])
