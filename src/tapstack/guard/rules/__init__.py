"""The rule catalogue: TAP001-TAP013, in id order (a test keeps every range written in the repository current)."""

from __future__ import annotations

from ..model import Rule
from .alarms import alarms_notify
from .changes import no_unallowed_data_loss
from .compute import private_compute
from .deprecations import current_api
from .deputy import no_confused_deputy
from .iam import least_privilege
from .naming import scoped_names
from .network import network_controls
from .providers import explicit_providers
from .retention import retention_and_encryption
from .s3 import hardened_buckets, replicated_deployments
from .secrets import secrets_stay_secret

RULES: tuple[Rule, ...] = tuple(
    sorted(
        (
            explicit_providers,
            least_privilege,
            hardened_buckets,
            alarms_notify,
            private_compute,
            network_controls,
            current_api,
            scoped_names,
            secrets_stay_secret,
            replicated_deployments,
            retention_and_encryption,
            no_confused_deputy,
            no_unallowed_data_loss,
        ),
        key=lambda r: r.id,
    )
)
RULES_BY_ID: dict[str, Rule] = {r.id: r for r in RULES}


def rule_range() -> str:
    """The ids the catalogue spans ("TAP001-TAP013"), as the docs write it (``python -m tests.guard.rule_docs``)."""
    return f"{RULES[0].id}-{RULES[-1].id}"


def reference_markdown() -> str:
    """The rule table of docs/guard-rules.md (a test keeps the document equal to this)."""
    lines = [
        "| id | rule | severity | runs as | seed problem it prevents | AWS FSBP controls |",
        "|---|---|---|---|---|---|",
    ]
    for r in RULES:
        controls = ", ".join(r.controls) or "-"
        lines.append(
            f"| {r.id} | **{r.title}**: {r.description} | {r.severity.value} | {r.scope.value} | {r.seed} | "
            f"{controls} |"
        )
    return "\n".join(lines) + "\n"
