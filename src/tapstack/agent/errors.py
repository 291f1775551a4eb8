"""Why a release could not be installed, and whether trying again later can help."""

from __future__ import annotations


class Refused(Exception):
    """A release the agent will not serve; ``reason`` is the one line the heartbeat carries.

    ``permanent`` failures (a wrong sha256, a missing artifact version, an unsafe archive, a failed health
    check) are remembered until the pointer changes, so the 30 s timer does not reinstall the same bad
    release on every pass. Transient ones (throttling, a full disk, a network error) are retried next pass;
    neither ever touches the release that is serving.
    """

    def __init__(self, reason: str, *, permanent: bool = True) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
