"""The stack report: one self-contained HTML file a reviewer can open anywhere, offline, and trust.

Self-contained means no fetch at all: CSS inline, the diagram inline as SVG, no script, and a
Content-Security-Policy that forbids loading anything, so a future edit that adds an external asset breaks
visibly instead of leaking the reader's IP. Every value from the stack passes through ``html.escape``:
resource names and policy text are data, never markup.
"""

from __future__ import annotations

import html
import json
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from . import diagram
from .diff import Action, Diff
from .graph import Graph, References, Resource, as_list, policy_statements, short_type
from .guard.engine import evaluate
from .guard.model import Context
from .guard.model import Violation as GuardViolation
from .guard.rules import RULES_BY_ID
from .guard.suppressions import load
from .resource_types import ROLE, ROLE_POLICY, ROLE_POLICY_ATTACHMENT

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'"
SECTIONS = ("summary", "diagram", "guard", "changes", "iam", "outputs", "checks", "fleet")
SEVERITY_ORDER = ("critical", "high", "medium", "low")


@dataclass(frozen=True)
class Violation:
    rule: str
    severity: str
    resource: str
    message: str
    remediation: str


@dataclass(frozen=True)
class GuardResults:
    """What `tapstack check` found: open violations, accepted ones with their reason, the rules run."""

    violations: list[Violation] = field(default_factory=list)
    suppressed: list[tuple[Violation, str]] = field(default_factory=list)
    rules: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class CheckResult:
    region: str
    name: str
    passed: bool
    detail: str


@dataclass(frozen=True)
class FleetRegion:
    """One region's simulated fleet after its agents ran: the deploy table's line and each unhealthy instance."""

    region: str
    summary: str
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class LocalResults:
    """What `--local` adds: the emulator's stack outputs, post-deploy checks and simulated fleet, or why they
    are missing."""

    outputs: dict[str, Any] = field(default_factory=dict)
    checks: list[CheckResult] = field(default_factory=list)
    resources: int = 0
    seconds: float = 0.0
    error: str | None = None
    fleet: list[FleetRegion] = field(default_factory=list)
    fleet_error: str | None = None
    """Why the simulated fleet could not boot (the deploy and checks still stand)."""


@dataclass(frozen=True)
class Permission:
    sid: str
    effect: str
    actions: list[str]
    resources: list[str]
    condition: str


@dataclass(frozen=True)
class RoleView:
    """A role as a reviewer asks about it: who may assume it, who uses it, what it may do on what."""

    name: str
    region: str
    trusted: list[str]
    used_by: str
    permissions: list[Permission]
    managed: list[str]


def iam_roles(graph: Graph, built: diagram.Diagram | None = None) -> list[RoleView]:
    """Parse every role's trust policy, inline policies and managed attachments out of the graph."""
    built = built or diagram.build(graph)
    resources = graph.aws_resources()
    refs = References(resources)
    by_urn = {r.urn: r for r in resources}
    views: list[RoleView] = []
    for role in graph.of_type(ROLE):
        attached = [
            r
            for r in resources
            if r.type in (ROLE_POLICY, ROLE_POLICY_ATTACHMENT)
            and refs.resolve(r, str(r.inputs.get("role", ""))) == role.urn
        ]
        permissions: list[Permission] = []
        for policy in (r for r in attached if r.type == ROLE_POLICY):
            for i, st in enumerate(policy_statements(policy.inputs.get("policy"))):
                targets = [_describe_arn(str(arn), policy, refs, by_urn) for arn in as_list(st.get("Resource"))]
                condition = st.get("Condition")
                permissions.append(
                    Permission(
                        sid=str(st.get("Sid") or f"#{i + 1}"),
                        effect=str(st.get("Effect", "Allow")),
                        actions=_actions(st),
                        resources=targets,
                        condition=json.dumps(condition, sort_keys=True) if condition else "",
                    )
                )
        node = built.node_of(role.urn)
        used_by = f"{node.title} {node.name}" if node is not None and node.resource.urn != role.urn else "-"
        views.append(
            RoleView(
                name=str(role.inputs.get("name") or role.name),
                region=role.region or "-",
                trusted=_trusted(role.inputs.get("assumeRolePolicy")),
                used_by=used_by,
                permissions=permissions,
                managed=[str(r.inputs.get("policyArn")) for r in attached if r.type == ROLE_POLICY_ATTACHMENT],
            )
        )
    order = {region: i for i, region in enumerate(built.regions)}
    return sorted(views, key=lambda v: (order.get(v.region, len(order)), v.name))


def _actions(statement: dict[str, Any]) -> list[str]:
    """``NotAction`` grants everything else: shown as such, never as if it were the list of grants."""
    if "Action" in statement:
        return [str(a) for a in as_list(statement["Action"])]
    return [f"everything except {a}" for a in as_list(statement.get("NotAction"))]


def _trusted(raw: Any) -> list[str]:
    principals: list[str] = []
    for st in policy_statements(raw):
        principal = st.get("Principal")
        if isinstance(principal, dict):
            for kind, values in principal.items():
                principals += [f"{kind}: {v}" for v in as_list(values)]
        elif principal is not None:
            principals.append(str(principal))
    return principals


def _describe_arn(arn: str, source: Resource, refs: References, by_urn: dict[str, Resource]) -> str:
    target = refs.resolve(source, arn)
    if target is None:
        return arn
    return f"{arn} ({short_type(by_urn[target].type)} {by_urn[target].name})"


# --- HTML ---------------------------------------------------------------------------------------------------
def e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _table(headers: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "") -> str:
    """Cells are HTML already (escaped by the caller): some carry badges or lists."""
    head = "".join(f"<th>{e(h)}</th>" for h in headers)
    body = "".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f'<table class="{e(cls)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _unavailable(reason: str) -> str:
    return f'<p class="unavailable" data-unavailable="true">Not available: {e(reason)}</p>'


def _badge(text: str, kind: str) -> str:
    return f'<span class="badge {e(kind)}">{e(text)}</span>'


def _summary(graph: Graph, built: diagram.Diagram) -> str:
    counts = graph.counts()
    regions = built.regions
    region_items = "".join(
        f"<li>{e(r)} {_badge('primary', 'primary') if r == built.primary else ''}"
        f"<span class='count'>{sum(n for (_, rr), n in counts.items() if rr == r)} resources</span></li>"
        for r in regions
    )
    by_type: Counter[str] = Counter()
    for (t, _), n in counts.items():
        by_type[t] += n
    rows = [
        [
            f"<code>{e(short_type(t))}</code>",
            *[str(counts.get((t, r), 0) or "") for r in regions],
            str(by_type[t]),
        ]
        for t in sorted(by_type)
    ]
    half = (len(rows) + 1) // 2
    tables = "".join(_table(["type", *regions, "total"], part, "numeric") for part in (rows[:half], rows[half:]))
    return (
        '<div class="cards">'
        f'<div class="card"><div class="big">{len(regions)}</div>region(s)<ul class="regions">{region_items}</ul></div>'
        f'<div class="card"><div class="big">{sum(by_type.values())}</div>AWS resources</div>'
        f'<div class="card"><div class="big">{len(by_type)}</div>resource types</div>'
        f'<div class="card"><div class="big">{len(built.nodes)}</div>boxes in the diagram</div>'
        "</div>"
        f'<h3>Resources per type</h3><div class="split">{tables}</div>'
    )


_XML_PROLOG = re.compile(r"<\?xml[^>]*\?>|<!DOCTYPE[^>]*>|<!--.*?-->", re.DOTALL)


def inline_svg(svg: str) -> str:
    """Graphviz's SVG without its prolog and DOCTYPE, so it can live inside HTML."""
    return _XML_PROLOG.sub("", svg).strip()


def _diagram_section(svg: str | None, error: str | None) -> str:
    if svg is None:
        return _unavailable(error or "the diagram could not be rendered")
    legend = "".join(f"<li>{_swatch(diagram.EDGE_STYLE[kind])}{e(text)}</li>" for kind, text in LEGEND.items())
    zoom = (
        '<p class="zoom">Hover a box or an edge for details. '
        '<a href="#diagram-figure">actual size</a> · <a href="#diagram">fit to width</a></p>'
    )
    return (
        f'{zoom}<figure class="diagram" id="diagram-figure">{inline_svg(svg)}</figure><ul class="legend">{legend}</ul>'
    )


def _swatch(style: dict[str, str]) -> str:
    line = style.get("style", "")
    border = "dashed" if "dash" in line else "dotted" if "dot" in line else "solid"
    return f'<span class="swatch" style="border-color:{e(style.get("color", "#666"))};border-style:{border}"></span>'


LEGEND = {
    "replication": "S3 replication (primary → secondary)",
    "route": "route / route table association",
    "access": "IAM permission (hover an edge for the actions)",
    "notify": "alarm and OK actions",
    "logs": "logs delivery",
    "placement": "runs in / lives in",
    "watch": "alarm watches",
}


def _guard_section(guard: GuardResults) -> str:
    by_severity = Counter(v.severity for v in guard.violations)
    summary = " ".join(_badge(f"{by_severity[s]} {s}", s) for s in SEVERITY_ORDER if by_severity[s])
    if not guard.violations:
        head = f'<p class="ok">{_badge("pass", "pass")} no violations: {len(guard.rules)} rules passed.</p>'
    else:
        head = f"<p>{_badge('fail', 'fail')} {len(guard.violations)} violation(s) {summary}</p>"
    headers = ["rule", "severity", "resource", "message", "remediation"]
    rows = [_violation_row(v) for v in sorted(guard.violations, key=_severity_first)]
    table = _table(headers, rows, "guard") if rows else ""
    if guard.suppressed:
        accepted = [[*_violation_row(v), e(reason)] for v, reason in guard.suppressed]
        table += f"<h3>Suppressed ({len(guard.suppressed)})</h3>" + _table([*headers, "accepted because"], accepted)
    rules = "".join(f"<li><code>{e(rid)}</code> {e(title)}</li>" for rid, title in guard.rules)
    checked = f"<details><summary>{len(guard.rules)} rules checked</summary><ul>{rules}</ul></details>"
    return head + table + (checked if guard.rules else "")


ACTION_BADGES = {Action.CREATE: "create", Action.UPDATE: "update", Action.REPLACE: "replace", Action.DELETE: "delete"}


def _changes_section(changes: Diff | None) -> str:
    """What deploying this graph over the deployed one does (``tapstack diff``), grouped by region."""
    if changes is None:
        return _unavailable("no deployed stack to compare with (tapstack report --against OLD)")
    if not changes.changes:
        return f'<p class="ok">{_badge("no changes", "pass")} {changes.unchanged} resources as deployed.</p>'
    counts = changes.summary()
    badges = " ".join(_badge(f"{counts[a.value]} {a.value}", a.value) for a in Action if counts[a.value])
    lost = len(changes.destructive)
    head = (
        f"<p>{_badge(f'{lost} destructive', 'fail')} " if lost else f"<p>{_badge('no data destroyed', 'pass')} "
    ) + f"{badges} · {counts['unchanged']} unchanged</p>"
    body = ""
    regions = sorted({c.region or "global" for c in changes.changes})
    for region in regions:
        rows = []
        for c in (c for c in changes.changes if (c.region or "global") == region):
            action = _badge(c.action.value, ACTION_BADGES[c.action])
            if c.destructive:
                action += " " + _badge("destructive", "fail")
            notes = "".join(f"<li>{e(n)}</li>" for n in c.notes)
            rows.append(
                [
                    action,
                    f"<code>{e(short_type(c.type))}</code> {e(c.name)}",
                    ", ".join(f"<code>{e(p)}</code>" for p in c.properties),
                    ", ".join(f"<code>{e(p)}</code>" for p in c.replaces_because),
                    f"<ul>{notes}</ul>" if notes else "",
                ]
            )
        headers = ["action", "resource", "changed", "replaced because", "consequences"]
        body += f"<h3>{e(region)}</h3>{_table(headers, rows, 'changes')}"
    return head + body


def _severity_first(v: Violation) -> tuple[int, str]:
    return (SEVERITY_ORDER.index(v.severity) if v.severity in SEVERITY_ORDER else len(SEVERITY_ORDER), v.rule)


def _violation_row(v: Violation) -> list[str]:
    return [f"<code>{e(v.rule)}</code>", _badge(v.severity, v.severity), e(v.resource), e(v.message), e(v.remediation)]


def _iam_section(roles: list[RoleView]) -> str:
    if not roles:
        return "<p>This stack creates no IAM roles.</p>"
    overview = [
        [
            f'<a href="#role-{i}">{e(role.name)}</a>',
            e(role.region),
            ", ".join(f"<code>{e(t)}</code>" for t in role.trusted),
            e(role.used_by),
            str(len({a for p in role.permissions for a in p.actions})),
            str(len(role.managed)),
        ]
        for i, role in enumerate(roles)
    ]
    parts: list[str] = [_table(["role", "region", "assumed by", "used by", "actions", "managed policies"], overview)]
    for i, role in enumerate(roles):
        rows = [
            [
                f"<code>{e(p.sid)}</code>",
                _badge(p.effect, "pass" if p.effect == "Allow" else "high"),
                "<br>".join(f"<code>{e(a)}</code>" for a in p.actions),
                "<br>".join(e(r) for r in p.resources),
                f"<code>{e(p.condition)}</code>" if p.condition else "",
            ]
            for p in role.permissions
        ]
        managed = "".join(f"<li><code>{e(m)}</code></li>" for m in role.managed)
        parts.append(
            f'<article class="role" id="role-{i}"><h3>{e(role.name)} <span class="region">{e(role.region)}</span></h3>'
            f"<p>assumed by {', '.join(f'<code>{e(t)}</code>' for t in role.trusted) or 'nobody'}"
            f" · used by {e(role.used_by)}</p>"
            + (_table(["statement", "effect", "actions", "resources", "condition"], rows, "iam") if rows else "")
            + (f"<p>managed policies:</p><ul>{managed}</ul>" if managed else "")
            + "</article>"
        )
    return "".join(parts)


def _outputs_section(local: LocalResults | None) -> str:
    if local is None:
        return _unavailable("run `tapstack report --local` to deploy into the emulator and show its outputs")
    if local.error:
        return _unavailable(f"the local deploy failed: {local.error}")
    rows = [
        [f"<code>{e(k)}</code>", f"<code>{e(v if isinstance(v, str) else json.dumps(v))}</code>"]
        for k, v in sorted(local.outputs.items())
    ]
    head = f"<p>{local.resources} resources deployed into the emulator in {local.seconds:.1f}s.</p>"
    return head + _table(["output", "value"], rows, "outputs")


def _checks_section(local: LocalResults | None) -> str:
    if local is None:
        return _unavailable("run `tapstack report --local` to run the post-deploy checks in the emulator")
    if local.error:
        return _unavailable(f"the local deploy failed: {local.error}")
    if not local.checks:
        return "<p>No post-deploy checks apply to this stack (no migration function).</p>"
    rows = [
        [
            e(c.region),
            e(c.name),
            _badge("passed" if c.passed else "failed", "pass" if c.passed else "fail"),
            e(c.detail),
        ]
        for c in local.checks
    ]
    return _table(["region", "check", "result", "detail"], rows, "checks")


def _fleet_section(local: LocalResults | None, regions: list[str]) -> str:
    if local is None:
        return _unavailable(
            "run `tapstack report --local` to boot the simulated fleet (the release agent on every instance)"
        )
    if local.error:
        return _unavailable(f"the local deploy failed: {local.error}")
    if local.fleet_error:
        return _unavailable(f"the simulated fleet did not boot: {local.fleet_error}")
    if not local.fleet:
        return "<p>This stack runs no instances (no region has both compute and a deployment bucket).</p>"
    order = {region: i for i, region in enumerate(regions)}
    rows = [
        [
            e(f.region),
            _badge(f"{len(f.problems)} problem(s)", "fail") if f.problems else _badge("ok", "pass"),
            e(f.summary),
            "<br>".join(e(p) for p in f.problems),
        ]
        for f in sorted(local.fleet, key=lambda f: (order.get(f.region, len(order)), f.region))
    ]
    head = (
        "<p>One pass of the release agent on every instance the emulator launched, as the systemd timer runs it "
        "on AWS, with the instance role's credentials.</p>"
    )
    return head + _table(["region", "state", "fleet", "problems"], rows, "fleet")


STYLE = """
:root{--ink:#16191f;--muted:#5f6b7a;--line:#d5dbe1;--bg:#f5f7fa;--accent:#232f3e}
*{box-sizing:border-box}
body{margin:0;font:14px/1.5 -apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:var(--ink);background:var(--bg)}
header{background:var(--accent);color:#fff;padding:18px 32px}
header h1{margin:0;font-size:22px}
header .meta{margin:4px 0 10px;color:#d1d5db}
nav a{color:#ffd58a;margin-right:18px;text-decoration:none;font-weight:600}
main{padding:8px 32px 40px;max-width:1600px}
section{background:#fff;border:1px solid var(--line);border-radius:8px;margin:18px 0;padding:6px 22px 18px}
h2{font-size:18px;border-bottom:1px solid var(--line);padding-bottom:6px}
h3{font-size:15px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:#eef1f5;font-weight:600}
tbody tr:nth-child(even){background:#fafbfc}
table.numeric td+td{text-align:right;font-variant-numeric:tabular-nums}
td code,li code,p code{font-size:12px;background:#f1f3f5;padding:1px 4px;border-radius:3px;overflow-wrap:anywhere}
table.iam td:nth-child(3) code,table.guard td:first-child code{white-space:nowrap}
table.iam td:nth-child(4){overflow-wrap:anywhere}
.cards{display:flex;gap:14px;flex-wrap:wrap;margin:12px 0}
.card{border:1px solid var(--line);border-radius:8px;padding:10px 16px;min-width:160px;color:var(--muted)}
.card .big{font-size:26px;font-weight:700;color:var(--ink)}
.card ul{margin:6px 0 0;padding-left:16px;color:var(--ink)}
.card .count{color:var(--muted);margin-left:6px}
.badge{display:inline-block;border-radius:10px;padding:0 8px;font-size:12px;font-weight:600;color:#fff;
  background:#5f6b7a}
.badge.primary{background:#232f3e}
.badge.pass{background:#2e7d32}.badge.fail,.badge.critical{background:#b71c1c}
.badge.create{background:#2e7d32}.badge.update{background:#ef8f00}.badge.replace{background:#6a1b9a}
.badge.delete{background:#b71c1c}
table.changes td ul{margin:0;padding-left:16px}
.badge.high{background:#d84315}.badge.medium{background:#ef8f00}.badge.low{background:#607d8b}
.unavailable{color:var(--muted);font-style:italic;background:#f6f7f9;border-left:4px solid var(--line);padding:8px 12px}
figure.diagram{margin:8px 0;overflow:auto;border:1px solid var(--line);border-radius:6px;background:#fff}
figure.diagram svg{display:block;width:100%;height:auto}
figure.diagram:target svg{width:auto;max-width:none}
.split{display:grid;grid-template-columns:1fr 1fr;gap:0 24px}
.zoom{color:var(--muted);font-size:12px;margin:4px 0}
ul.legend{list-style:none;padding:0;display:flex;flex-wrap:wrap;gap:6px 20px;color:var(--muted);font-size:12px}
.swatch{display:inline-block;width:26px;height:0;border-top-width:3px;margin-right:6px;vertical-align:middle}
article.role{border-top:1px solid var(--line);padding-top:4px}
article.role .region{font-weight:400;color:var(--muted);font-size:13px}
footer{color:var(--muted);padding:0 32px 24px;font-size:12px}
"""


def render_html(
    graph: Graph,
    *,
    svg: str | None,
    svg_error: str | None = None,
    guard: GuardResults,
    local: LocalResults | None,
    generated: datetime | None = None,
    built: diagram.Diagram | None = None,
    changes: Diff | None = None,
) -> str:
    """The whole report as one HTML string; pure, so tests check structure and escaping without a browser."""
    built = built or diagram.build(graph)
    when = (generated or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    titles = {
        "summary": "Summary",
        "diagram": "Architecture",
        "guard": "Guard results",
        "changes": "Changes",
        "iam": "IAM roles",
        "outputs": "Deployed outputs",
        "checks": "Post-deploy checks",
        "fleet": "Simulated fleet",
    }
    bodies = {
        "summary": _summary(graph, built),
        "diagram": _diagram_section(svg, svg_error),
        "guard": _guard_section(guard),
        "changes": _changes_section(changes),
        "iam": _iam_section(iam_roles(graph, built)),
        "outputs": _outputs_section(local),
        "checks": _checks_section(local),
        "fleet": _fleet_section(local, built.regions),
    }
    nav = "".join(f'<a href="#{s}">{e(titles[s])}</a>' for s in SECTIONS)
    sections = "".join(
        f'<section id="{s}" data-section="{s}"><h2>{e(titles[s])}</h2>{bodies[s]}</section>' for s in SECTIONS
    )
    primary = f" · primary {e(built.primary)}" if built.primary else ""
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{e(CSP)}">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>TapStack report · {e(graph.stack)}</title><style>{STYLE}</style></head>"
        f"<body><header><h1>TapStack stack report · {e(graph.stack)}</h1>"
        f'<p class="meta">{len(built.regions)} region(s){primary} · {len(graph.aws_resources())} AWS resources'
        f" · generated {e(when)}</p><nav>{nav}</nav></header>"
        f"<main>{sections}</main>"
        "<footer>Generated by <code>tapstack report</code>. Self-contained: no scripts, no external assets.</footer>"
        "</body></html>\n"
    )


def _violation(v: GuardViolation) -> Violation:
    return Violation(v.rule, v.severity.value, v.name, v.message, v.remediation)


def guard_results(graph: Graph, suppressions: Path | None = None, against: Graph | None = None) -> GuardResults:
    """Every guard rule over the graph, exactly as `tapstack check` judges it (same suppressions, and TAP013 over
    the change when the deployed graph is given)."""
    accepted = load(suppressions, RULES_BY_ID) if suppressions is not None else []
    result = evaluate(graph, context=Context.for_graph(graph, against=against), suppressions=accepted)
    return GuardResults(
        violations=[_violation(v) for v in result.violations],
        suppressed=[(_violation(s.violation), s.suppression.reason) for s in result.suppressed],
        rules=[(r.id, r.title) for r in result.rules],
    )
