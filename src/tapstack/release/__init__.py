"""``tapstack release``: package an application directory and roll it out to every region of a stack.

Packaging, upload, replication wait, canary, waves and rollback live here as a library (boto3 + stdlib, no
CLI, no printing); ``tapstack.cli.release`` shows its progress. The same code runs against the emulator and
real AWS through a ``Target``.
"""

from .errors import ReleaseError, ReleaseLocked, StageFailed, VersionConflict
from .orchestrate import Event, RegionResult, ReleaseReport, release
from .outputs import StackOutputs
from .package import Package, package_dir
from .plan import Options
from .target import AwsTarget, Target

__all__ = [
    "AwsTarget",
    "Event",
    "Options",
    "Package",
    "RegionResult",
    "ReleaseError",
    "ReleaseLocked",
    "ReleaseReport",
    "StackOutputs",
    "StageFailed",
    "Target",
    "VersionConflict",
    "package_dir",
    "release",
]
