"""TAP013: a change to a deployed stack destroys no data that nobody agreed to lose."""

from __future__ import annotations

from collections.abc import Iterator

from ...diff import diff
from ...graph import Graph
from ..model import Context, Finding, Scope, Severity, rule


@rule(
    "TAP013",
    title="No unacknowledged data loss in an update",
    severity=Severity.CRITICAL,
    scope=Scope.STACK,
    seed=(
        "issue 26 (the fidelity issue's case): switching on deploymentObjectLockDays replaces the deployment "
        "bucket, and with it every release's artifacts and migration records, in a change that reads as one "
        "config line"
    ),
    remediation=(
        "keep the input that forces the replacement (tapstack diff names it), move the resource with a "
        "pulumi.Alias, or accept the loss by name with --allow-replace URN"
    ),
)
def no_unallowed_data_loss(graph: Graph, ctx: Context) -> Iterator[Finding]:
    """Compared with the graph the stack was deployed from (`tapstack check --against OLD`), no stateful resource
    (bucket, KMS key, secret, SSM parameter, log group, SQS queue) is replaced or deleted unless `--allow-replace`
    names its URN.

    Without a deployed graph there is nothing to compare: the rule passes, as it does in the CrossGuard pack,
    where `pulumi preview` itself shows each replacement.
    """
    if ctx.against is None:
        return
    deployed = ctx.against.by_urn()
    current = graph.by_urn()
    for change in diff(ctx.against, graph).destructive:
        if change.urn in ctx.allow_replace:
            continue
        resource = current.get(change.urn) or deployed[change.urn]
        why = f" ({', '.join(change.replaces_because)} forces it)" if change.replaces_because else ""
        yield Finding(resource, f"{change.action.value}s {change.name}{why}: destroys {change.at_risk}")
