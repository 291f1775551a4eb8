"""The release's own errors: each one line a user can act on, raised before the step it stops writes anything."""

from __future__ import annotations

from ..errors import TapStackError


class ReleaseError(TapStackError):
    """Bad input or an unusable stack (missing DIR, bad app file, outputs missing keys, bucket unreachable)."""


class VersionConflict(ReleaseError):
    """The version was already uploaded with other content: versions are immutable, nothing is overwritten."""


class ReleaseLocked(ReleaseError):
    """Another release holds a region's release lease: the second run is refused before it migrates anything."""


class StageFailed(Exception):
    """A step of the release failed at run time (replication, migrate, fleet, alarm): rollback territory.

    ``regions`` names what was missing or wrong per region, for the per-region result.
    """

    def __init__(self, message: str, regions: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.regions = regions or {}
