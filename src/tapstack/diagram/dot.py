"""DOT output: clusters per region (primary first), VPC and tier, component; styles per service and edge kind.

Rendering SVG or PNG needs Graphviz's ``dot`` program; the DOT source needs nothing, so ``--format dot``
works everywhere and the tests read it.
"""

from __future__ import annotations

import html
import re
import shutil
from collections import defaultdict

import graphviz  # type: ignore[import-untyped]

from ..errors import TapStackError
from ..graph import Graph
from ..resource_types import (
    DEFAULT_SECURITY_GROUP,
    NETWORK_ACL,
    NETWORK_ACL_RULE,
    service,
    short_type,
)
from .boxes import build
from .model import Diagram, Edge, Node, Vpc
from .spread import spread_labels

PALETTE: dict[str, tuple[str, str]] = {
    "ec2": ("#e8f0fb", "#3b73b9"),
    "autoscaling": ("#fdebd3", "#d86613"),
    "lambda": ("#fdebd3", "#d86613"),
    "s3": ("#e6f4ea", "#3f8624"),
    "sns": ("#fbe4ec", "#c7136f"),
    "cloudwatch": ("#fbe4ec", "#c7136f"),
    "kms": ("#fdeaea", "#dd344c"),
    "ssm": ("#fdeaea", "#dd344c"),
    "secretsmanager": ("#fdeaea", "#dd344c"),
}
DEFAULT_COLORS = ("#f2f2f2", "#666666")
FORMATS = ("svg", "png", "pdf", "dot")
INSTALL_HINT = (
    "Graphviz `dot` is not installed: install it (Debian/Ubuntu: `sudo apt-get install graphviz`, "
    "macOS: `brew install graphviz`), or write the DOT source with `--format dot`"
)


class GraphvizMissing(TapStackError, RuntimeError):
    """Rendering needs Graphviz's `dot` program; the message says how to install it."""

    def __init__(self) -> None:
        super().__init__(INSTALL_HINT)


def _label(title: str, details: list[str]) -> str:
    """A Graphviz HTML label: bold title, small detail lines; every text escaped, names are data."""
    lines = [f'<B><FONT POINT-SIZE="11">{html.escape(title)}</FONT></B>']
    lines += [f'<FONT POINT-SIZE="9">{html.escape(d)}</FONT>' for d in details]
    return "<" + "<BR/>".join(lines) + ">"


EDGE_STYLE: dict[str, dict[str, str]] = {
    "replication": {"color": "#3f8624", "penwidth": "2.4", "fontcolor": "#2d6a1a", "style": "bold"},
    "route": {"color": "#3b73b9", "fontcolor": "#3b73b9"},
    "notify": {"color": "#c7136f", "fontcolor": "#c7136f"},
    "logs": {"color": "#7a5cb8", "fontcolor": "#7a5cb8", "style": "dashed"},
    "access": {"color": "#d86613", "fontcolor": "#a04a0c"},
    "placement": {"color": "#8a9bb0", "style": "dashed", "arrowhead": "none"},
    "watch": {"color": "#c7136f", "style": "dotted", "arrowhead": "none"},
    "ref": {"color": "#666666"},
}


def _tooltip(edge: Edge, nodes: dict[str, Node]) -> str:
    src, dst = nodes[edge.src], nodes[edge.dst]
    what = f"{src.title} → {dst.title}"
    if edge.actions:
        return f"{what}: " + ", ".join(sorted(edge.actions))
    return f"{what}: {edge.label}" if edge.label else what


def _access_label(actions: set[str]) -> str:
    """``s3:GetObject, s3:PutObject`` -> ``GetObject, PutObject``; many actions -> ``s3: 6 actions``."""
    if not actions:
        return ""
    services = sorted({a.split(":")[0] for a in actions})
    if len(actions) <= 2:
        return ", ".join(sorted(a.split(":")[-1] for a in actions))
    return f"{'/'.join(services)}: {len(actions)} actions"


def to_dot(diagram: Diagram) -> graphviz.Digraph:
    """Clusters: region (primary marked) > VPC > public/private tier; other boxes grouped by component."""
    dot = graphviz.Digraph(diagram.stack, engine="dot")
    dot.attr(
        rankdir="LR",
        fontname="Helvetica",
        nodesep="0.25",
        ranksep="0.6",
        newrank="true",
        label=f"TapStack · stack {diagram.stack} · {len(diagram.regions)} region(s)",
        labelloc="t",
        fontsize="18",
    )
    dot.attr("node", shape="box", style="rounded,filled", fontname="Helvetica", margin="0.12,0.06")
    dot.attr("edge", fontname="Helvetica", fontsize="9", arrowsize="0.7")
    for region in diagram.regions:
        primary = region == diagram.primary
        with dot.subgraph(name=f"cluster_region_{_slug(region)}") as rg:
            role = " · primary" if primary else (" · secondary" if diagram.primary else "")
            rg.attr(
                label=f"{region}{role}",
                style="rounded,bold" if primary else "rounded",
                color="#232f3e" if primary else "#8a8a8a",
                penwidth="2.5" if primary else "1.2",
                fontsize="16",
                bgcolor="#ffffff",
            )
            nodes = diagram.nodes_in(region)
            for vpc_urn, vpc in diagram.vpcs.items():
                if vpc.region == region:
                    _vpc_cluster(rg, vpc_urn, vpc, [n for n in nodes if n.vpc == vpc_urn])
            outside = [n for n in nodes if n.vpc is None]
            by_group: dict[str | None, list[Node]] = defaultdict(list)
            for n in outside:
                by_group[n.group].append(n)
            for group, members in by_group.items():
                component = diagram.components.get(group or "")
                if component is None or len(members) < 2:
                    for n in members:
                        _node(rg, n)
                    continue
                with rg.subgraph(name=f"cluster_{members[0].id}_group") as cg:
                    cg.attr(label=f"{component.type.rsplit(':', 1)[-1]} · {component.name}", style="rounded,dashed")
                    cg.attr(color="#9aa5b1", fontsize="10")
                    for n in members:
                        _node(cg, n)
    for e in diagram.edges:
        style = dict(EDGE_STYLE[e.kind])
        label = e.label or (_access_label(e.actions) if e.kind == "access" else "")
        if label:
            style["label"] = _dot_text(label)
        dot.edge(e.src, e.dst, tooltip=_tooltip(e, diagram.nodes), **style)
    return dot


def _dot_text(text: str) -> str:
    """A plain DOT label: backslashes are Graphviz escapes, so a name's own are doubled; lines break at \\n."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _vpc_cluster(parent: graphviz.Digraph, urn: str, vpc: Vpc, nodes: list[Node]) -> None:
    nacls = [m for m in vpc.members if m.type == NETWORK_ACL]
    rules = [m for m in vpc.members if m.type == NETWORK_ACL_RULE]
    cidr = vpc.resource.inputs.get("cidrBlock", "")
    facts = [f"{len(nacls)} NACLs ({len(rules)} rules)" if nacls else "no NACLs"]
    if any(m.type == DEFAULT_SECURITY_GROUP for m in vpc.members):
        facts.append("default SG emptied")
    with parent.subgraph(name=f"cluster_vpc_{_slug(urn)}") as vg:
        vg.attr(label=f"VPC {cidr} · {' · '.join(facts)}", style="rounded", color="#3b73b9", bgcolor="#f7fafe")
        vg.attr(fontsize="11")
        for tier in ("public", "private"):
            members = [n for n in nodes if n.tier == tier]
            if not members:
                continue
            with vg.subgraph(name=f"cluster_vpc_{_slug(urn)}_{tier}") as tg:
                fill = "#eef7ee" if tier == "public" else "#eef2fa"
                tg.attr(label=f"{tier} tier", style="rounded,filled", color="#b9c6d6", fillcolor=fill, fontsize="10")
                for n in members:
                    _node(tg, n)
        for n in nodes:
            if n.tier not in ("public", "private"):
                _node(vg, n)


def _node(parent: graphviz.Digraph, node: Node) -> None:
    fill, border = PALETTE.get(service(node.kind), DEFAULT_COLORS)
    tooltip = "\n".join(sorted({short_type(r.type) for r in node.resources}))
    parent.node(node.id, _label(node.title, node.details), fillcolor=fill, color=border, tooltip=tooltip)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "_", text)[-60:]


def dot_available() -> bool:
    return shutil.which("dot") is not None


def render(graph: Graph, fmt: str = "svg") -> bytes:
    """The diagram as DOT source, SVG, PNG or PDF; raises GraphvizMissing for all but DOT without `dot`."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown diagram format {fmt!r}; use one of {', '.join(FORMATS)}")
    source = to_dot(build(graph))
    if fmt == "dot":
        text: str = source.source
        return text.encode()
    if not dot_available():
        raise GraphvizMissing()
    try:
        data: bytes = source.pipe(format=fmt)
    except graphviz.ExecutableNotFound:
        raise GraphvizMissing() from None
    if fmt == "svg":  # the picture the report embeds and the docs show: no label printed over another
        return spread_labels(data.decode()).encode()
    return data
