"""The architecture diagram: the boxes and edges a reader needs, derived from the graph, never a hairball."""

from __future__ import annotations

import html
import json
import random
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tapstack import diagram
from tapstack import resource_types as types
from tapstack.cli import main
from tapstack.diagram import Diagram, Node
from tapstack.graph import Graph, policy_statements
from tapstack.lib.regions import region_code
from tests.helpers import EXAMPLES, Synth, example_config

# Resources that only refine or serve another one: never a box of their own.
LOW_LEVEL = {
    types.ROUTE_TABLE_ASSOCIATION,
    types.ROUTE,
    types.NETWORK_ACL,
    types.NETWORK_ACL_RULE,
    types.VPC_ENDPOINT,
    types.ROLE,
    types.ROLE_POLICY,
    types.ROLE_POLICY_ATTACHMENT,
    types.LAUNCH_TEMPLATE,
    types.KMS_ALIAS,
    types.INSTANCE_PROFILE,
    types.SECURITY_GROUP,
    types.DEFAULT_SECURITY_GROUP,
    types.EIP,
    types.TOPIC_POLICY,
    types.SECRET_VERSION,
    types.BUCKET_POLICY,
    types.BUCKET_VERSIONING,
    types.BUCKET_PUBLIC_ACCESS_BLOCK,
    types.BUCKET_OWNERSHIP_CONTROLS,
    types.BUCKET_LIFECYCLE,
    types.BUCKET_ENCRYPTION,
    types.BUCKET_LOGGING,
    types.BUCKET_REPLICATION,
}


@pytest.fixture(scope="module")
def platform_diagram(platform: Graph) -> Diagram:
    return diagram.build(platform)


@pytest.fixture(scope="module")
def foundation_diagram(foundation: Graph) -> Diagram:
    return diagram.build(foundation)


def kinds(d: Diagram, region: str | None = None) -> Counter[str]:
    return Counter(n.kind for n in d.nodes.values() if region is None or n.region == region)


def edges_between(d: Diagram, src_kind: str, dst_kind: str, kind: str | None = None) -> list[tuple[Node, Node]]:
    return [
        (d.nodes[e.src], d.nodes[e.dst])
        for e in d.edges
        if d.nodes[e.src].kind == src_kind and d.nodes[e.dst].kind == dst_kind and (kind is None or e.kind == kind)
    ]


def test_one_region_is_a_handful_of_boxes_with_every_resource_folded_in(
    foundation: Graph, foundation_diagram: Diagram
) -> None:
    assert kinds(foundation_diagram) == {
        types.SUBNET: 4,
        types.ROUTE_TABLE: 3,  # public + one per NAT (per_az)
        types.NAT_GATEWAY: 2,
        types.INTERNET_GATEWAY: 1,
        types.FLOW_LOG: 1,
        types.LOG_GROUP: 2,
        types.ASG: 1,
        types.BUCKET: 2,
        types.TOPIC: 1,
        types.KMS_KEY: 1,
        types.ALARM: 1,
    }
    drawn = [r.urn for n in foundation_diagram.nodes.values() for r in n.resources]
    drawn += [r.urn for v in foundation_diagram.vpcs.values() for r in (v.resource, *v.members)]
    assert sorted(drawn) == sorted(r.urn for r in foundation.aws_resources())


def test_no_low_level_resource_type_is_a_box_and_every_box_type_has_a_registered_title(
    platform_diagram: Diagram,
) -> None:
    assert not LOW_LEVEL & set(kinds(platform_diagram))
    assert [k for k in kinds(platform_diagram) if not types.TYPES[k].title] == []


def test_one_cluster_per_region_primary_first_and_marked(platform_diagram: Diagram) -> None:
    assert platform_diagram.regions == ["us-east-1", "us-west-2", "eu-west-1"]
    assert platform_diagram.primary == "us-east-1"
    source = diagram.to_dot(platform_diagram).source
    assert source.count("subgraph cluster_region_") == 3
    assert 'label="us-east-1 · primary"' in source
    assert 'label="us-west-2 · secondary"' in source
    assert 'label="eu-west-1 · secondary"' in source


def test_every_region_has_the_same_boxes(platform_diagram: Diagram) -> None:
    first, *others = (kinds(platform_diagram, r) for r in platform_diagram.regions)
    assert all(k == first for k in others)
    assert first[types.FUNCTION] == 2  # the migration function and the token's rotation function
    # compute; each function's errors, throttles and dead letters; the migration's failed replies; replication
    # (failed: primary; latency: each secondary)
    assert first[types.ALARM] == 5


@pytest.mark.parametrize(("example", "secondaries"), [("foundation", 0), ("two-region", 1), ("platform", 2)])
def test_replication_edges_run_from_the_primary_deploy_bucket_to_each_secondary(
    example: str, secondaries: int, synth: Synth
) -> None:
    d = diagram.build(synth(**example_config(example)))
    edges = d.edges_of("replication")
    assert len(edges) == secondaries
    assert {d.nodes[e.src].region for e in edges} <= {d.primary}
    assert sorted(d.nodes[e.dst].region for e in edges) == sorted(d.regions[1:])
    assert all(d.nodes[e.src].kind == d.nodes[e.dst].kind == types.BUCKET for e in edges)
    assert all(e.label == "replication · RTC 15 min" for e in edges)


def test_the_lambda_reaches_exactly_what_its_role_allows(platform_diagram: Diagram) -> None:
    for region in platform_diagram.regions:
        (function,) = [
            n
            for n in platform_diagram.nodes_in(region)
            if n.kind == types.FUNCTION and n.details[0].startswith("tapstack-migration-")
        ]
        targets = {
            platform_diagram.nodes[e.dst].kind: e
            for e in platform_diagram.edges
            if e.src == function.id and e.kind == "access"
        }
        assert set(targets) == {types.BUCKET, types.PARAMETER, types.SECRET, types.TOPIC, types.LOG_GROUP, types.QUEUE}
        assert targets[types.PARAMETER].actions == {"ssm:GetParameter"}
        assert targets[types.SECRET].actions == {"secretsmanager:GetSecretValue"}
        assert "sns:Publish" in targets[types.TOPIC].actions
        topic = platform_diagram.nodes[targets[types.TOPIC].dst]
        assert topic.details[0].startswith("tapstack-deployments-")
        assert all(platform_diagram.nodes[e.dst].region == region for e in targets.values())


RELEASE_PATH = "agent: releases/current.json, artifacts/ (read)\nfleet/heartbeats/<userid>.json (write)"


def deployment_bucket_edges(d: Diagram, graph: Graph, region: str, src_kind: str) -> list[tuple[Node, Any]]:
    bucket = graph.outputs[f"{region_code(region)}_deployment_bucket"]
    return [
        (d.nodes[e.src], e)
        for e in d.edges
        if d.nodes[e.dst].kind == types.BUCKET and d.nodes[e.dst].name == bucket and d.nodes[e.src].kind == src_kind
    ]


def test_each_regions_instances_follow_their_own_deployment_bucket_along_the_release_path(
    platform: Graph, platform_diagram: Diagram
) -> None:
    for region in platform_diagram.regions:
        ((asg, edge),) = deployment_bucket_edges(platform_diagram, platform, region, types.ASG)
        assert asg.region == region
        assert (edge.kind, edge.label) == ("access", RELEASE_PATH)
    source = diagram.to_dot(platform_diagram).source
    in_dot = RELEASE_PATH.replace("\n", "\\n")  # Graphviz breaks the line there: one line per mode
    assert source.count(f'label="{in_dot}"') == 3


def test_the_migration_function_edge_names_the_keys_it_reads_and_the_ones_it_writes(
    platform: Graph, platform_diagram: Diagram
) -> None:
    for region in platform_diagram.regions:
        ((_, edge),) = deployment_bucket_edges(platform_diagram, platform, region, types.FUNCTION)
        reads, writes = edge.label.split("\n")
        assert reads == "artifacts/, fleet/heartbeats/ (read)"
        assert writes.endswith(" (read, write)") and "releases/" in writes and "migrations/" in writes


def instance_policy(graph: Graph) -> Any:
    """The inline policy folded into the first region's ASG box: the instance role's."""
    asg = next(n for n in diagram.build(graph).nodes.values() if n.kind == types.ASG)
    (policy,) = [r for r in graph.resources if r.urn in {m.urn for m in asg.resources} and r.type == types.ROLE_POLICY]
    return policy


def with_instance_statements(platform: Graph, keep: Any) -> tuple[Graph, str]:
    """A copy of the platform graph whose first instance role keeps only the statements ``keep`` accepts."""
    graph = Graph.from_dict(platform.to_dict())
    policy = instance_policy(graph)
    doc = json.loads(policy.inputs["policy"])
    doc["Statement"] = [st for st in policy_statements(doc) if keep(st)]
    policy.inputs["policy"] = json.dumps(doc)
    return graph, str(policy.region)


def names_deployment_bucket(statement: dict[str, Any]) -> bool:
    return "tapstack-deploy-" in json.dumps(statement.get("Resource"))


def test_without_a_statement_on_the_deployment_bucket_the_instances_have_no_edge_to_it(platform: Graph) -> None:
    graph, region = with_instance_statements(platform, lambda st: not names_deployment_bucket(st))
    d = diagram.build(graph)
    assert deployment_bucket_edges(d, graph, region, types.ASG) == []
    others = [r for r in d.regions if r != region]
    assert all(len(deployment_bucket_edges(d, graph, r, types.ASG)) == 1 for r in others)
    (asg,) = [n for n in d.nodes_in(region) if n.kind == types.ASG]
    assert any(e.src == asg.id and d.nodes[e.dst].kind == types.BUCKET for e in d.edges)  # the data bucket stays


def test_the_release_path_label_follows_the_statements_not_the_example(platform: Graph) -> None:
    graph, region = with_instance_statements(
        platform, lambda st: not names_deployment_bucket(st) or st.get("Action") == ["s3:PutObject"]
    )
    ((_, edge),) = deployment_bucket_edges(diagram.build(graph), graph, region, types.ASG)
    assert edge.label == "agent: fleet/heartbeats/<userid>.json (write)"


def test_the_actor_is_named_only_when_the_user_data_tells_the_instances_the_bucket(platform: Graph) -> None:
    graph = Graph.from_dict(platform.to_dict())
    asg = next(n for n in diagram.build(graph).nodes.values() if n.kind == types.ASG)
    (template,) = [
        r for r in graph.resources if r.urn in {m.urn for m in asg.resources} and r.type == types.LAUNCH_TEMPLATE
    ]
    del template.inputs["userData"]
    ((_, edge),) = deployment_bucket_edges(diagram.build(graph), graph, str(template.region), types.ASG)
    assert edge.label == RELEASE_PATH.removeprefix("agent: ")


def test_alarms_notify_the_alarm_topic_and_watch_what_they_measure(platform_diagram: Diagram) -> None:
    notified = edges_between(platform_diagram, types.ALARM, types.TOPIC, "notify")
    assert len(notified) == 15
    assert all(t.details[0].startswith("tapstack-alarms-") and a.region == t.region for a, t in notified)
    watched = Counter(t.kind for _, t in edges_between(platform_diagram, types.ALARM, types.ASG, "watch"))
    watched += Counter(t.kind for _, t in edges_between(platform_diagram, types.ALARM, types.FUNCTION, "watch"))
    assert watched == {types.ASG: 3, types.FUNCTION: 6}  # both functions of each region


def test_flow_log_delivers_to_its_log_group(platform_diagram: Diagram) -> None:
    delivered = edges_between(platform_diagram, types.FLOW_LOG, types.LOG_GROUP, "logs")
    assert len(delivered) == 3
    assert all("flowlogs" in group.details[0] for _, group in delivered)


def test_egress_path_private_subnet_route_table_nat_and_public_route_table_igw(foundation_diagram: Diagram) -> None:
    d = foundation_diagram
    out = {n.id: [d.nodes[e.dst] for e in d.edges if e.src == n.id] for n in d.nodes.values()}
    for subnet in (n for n in d.nodes.values() if n.kind == types.SUBNET):
        (table,) = [t for t in out[subnet.id] if t.kind == types.ROUTE_TABLE]
        hops = {h.kind for h in out[table.id]}
        assert hops == ({types.INTERNET_GATEWAY} if subnet.tier == "public" else {types.NAT_GATEWAY})
    assert {n.tier for n in d.nodes.values() if n.kind == types.SUBNET} == {"public", "private"}
    (asg,) = [n for n in d.nodes.values() if n.kind == types.ASG]
    assert asg.tier == "private"
    assert {n.tier for n in d.nodes.values() if n.kind == types.NAT_GATEWAY} == {"public"}


def test_no_edge_touches_a_kms_key_the_key_counts_its_users(platform_diagram: Diagram) -> None:
    keys = {n.id for n in platform_diagram.nodes.values() if n.kind == types.KMS_KEY}
    assert not [e for e in platform_diagram.edges if e.src in keys or e.dst in keys]
    primary_key = next(n for n in platform_diagram.nodes_in("us-east-1") if n.kind == types.KMS_KEY)
    assert primary_key.details[1:] == ["rotation on", "encrypts for 15 resources"]


def test_edges_come_from_data_not_names(synth: Synth) -> None:
    """Another project name and suffix, the same picture: nothing keys on a physical or logical name."""
    base = diagram.build(synth(regions=["us-east-1", "eu-west-1"]))
    renamed = diagram.build(synth(regions=["us-east-1", "eu-west-1"], project="acme", environmentSuffix="qa7"))

    def shape(d: Diagram) -> Counter[tuple[str, str, str, str]]:
        return Counter((d.nodes[e.src].kind, d.nodes[e.dst].kind, e.kind, d.nodes[e.src].region or "") for e in d.edges)

    assert shape(base) == shape(renamed)
    assert len(base.edges) > 30


def test_without_nat_private_route_tables_have_no_default_route(synth: Synth) -> None:
    d = diagram.build(synth(natStrategy="none", features={"compute": True, "migration": False}))
    assert kinds(d)[types.NAT_GATEWAY] == 0
    private_tables = [n for n in d.nodes.values() if n.kind == types.ROUTE_TABLE and n.tier == "private"]
    assert private_tables and all("0.0.0.0/0" not in " ".join(n.details) for n in private_tables)


def test_labels_are_escaped_for_graphviz_html(foundation: Graph) -> None:
    evil = Graph.from_dict(foundation.to_dict())
    bucket = next(r for r in evil.resources if r.type == types.BUCKET)
    bucket.inputs["bucket"] = '<b>"&bucket'
    source = diagram.to_dot(diagram.build(evil)).source
    assert "&lt;b&gt;&quot;&amp;bucket" in source
    assert '<b>"&bucket' not in source


def write_graph(graph: Graph, tmp_path: Path) -> Path:
    path = tmp_path / "graph.json"
    graph.write(path)
    return path


def test_format_dot_needs_no_graphviz(
    foundation: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "arch.dot"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out)]) == 0
    assert out.read_text().startswith("digraph dev {")
    assert "written to" in capsys.readouterr().out


def test_svg_without_graphviz_says_how_to_install_it(
    foundation: Graph, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    out = tmp_path / "arch.svg"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert "error: Graphviz `dot` is not installed" in err
    assert "sudo apt-get install graphviz" in err and "brew install graphviz" in err and "--format dot" in err
    assert not out.exists()


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")
@pytest.mark.parametrize(("suffix", "magic"), [(".svg", b"<?xml"), (".png", b"\x89PNG")])
def test_format_follows_the_file_suffix(
    suffix: str, magic: bytes, foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / f"arch{suffix}"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out), "--json"]) == 0
    assert out.read_bytes().startswith(magic)
    assert f'"nodes": {len(diagram.build(foundation).nodes)}' in capsys.readouterr().out


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")
def test_svg_carries_region_labels_and_edge_tooltips(platform: Graph) -> None:
    svg = html.unescape(diagram.render(platform, "svg").decode())  # Graphviz writes "-" as &#45;
    assert "us-east-1 · primary" in svg
    assert "ssm:GetParameter" in svg  # the access edge's tooltip names the actions


def test_unknown_format_is_refused(foundation: Graph) -> None:
    with pytest.raises(ValueError, match="unknown diagram format 'jpg'"):
        diagram.render(foundation, "jpg")


def test_config_and_graph_give_the_same_diagram(foundation: Graph, tmp_path: Path) -> None:
    by_graph, by_config = tmp_path / "a.dot", tmp_path / "b.dot"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(by_graph)]) == 0
    config = str(EXAMPLES / "foundation" / "Pulumi.dev.yaml")
    assert main(["diagram", "--config", config, "--out", str(by_config)]) == 0
    assert by_graph.read_text() == by_config.read_text()


def test_registration_order_does_not_change_the_picture(platform: Graph) -> None:
    """The runtime registers from several threads; the committed SVG must not churn from run to run."""
    shuffled = Graph.from_dict(platform.to_dict())
    random.Random(7).shuffle(shuffled.resources)
    assert diagram.to_dot(diagram.build(shuffled)).source == diagram.to_dot(diagram.build(platform)).source


def test_explicit_format_names_what_a_file_without_a_suffix_holds(foundation: Graph, tmp_path: Path) -> None:
    out = tmp_path / "arch"
    assert (
        main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out), "--format", "dot"]) == 0
    )
    assert out.read_text().startswith("digraph ")


def test_out_into_a_folder_that_does_not_exist_is_refused_and_not_created(
    foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "typo" / "arch.dot"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out)]) == 2
    assert f"folder {out.parent} does not exist" in " ".join(capsys.readouterr().err.split())
    assert not out.parent.exists()


@pytest.mark.parametrize(
    ("out", "extra", "message"),
    [
        ("arch.jpg", [], "expected a file name ending in .svg, .png, .pdf, .dot, .gv"),
        ("arch.pdf", ["--format", "svg"], "--format svg into --out"),
    ],
)
def test_an_out_name_that_is_not_the_format_written_is_refused(
    out: str, extra: list[str], message: str, foundation: Graph, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / out
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(target), *extra]) == 2
    assert message in " ".join(capsys.readouterr().err.split())
    assert not target.exists()


@pytest.mark.skipif(not diagram.dot_available(), reason="Graphviz `dot` is not installed")
def test_out_pdf_writes_a_pdf(foundation: Graph, tmp_path: Path) -> None:
    out = tmp_path / "arch.pdf"
    assert main(["diagram", "--graph", str(write_graph(foundation, tmp_path)), "--out", str(out)]) == 0
    assert out.read_bytes().startswith(b"%PDF-")


def test_spread_labels_moves_an_overprinting_label_and_leaves_every_other_byte() -> None:
    from tapstack.diagram.spread import spread_labels, text_width

    def label(n: int, y: float) -> str:
        return (
            f'<g id="edge{n}" class="edge"><title>e</title>'
            f'<text text-anchor="middle" x="100" y="{y}" font-size="9.00">GetParameter</text></g>'
        )

    svg = f'<svg xmlns="http://www.w3.org/2000/svg"><g class="graph">{label(1, 50)}{label(2, 52)}</g></svg>'
    spread = spread_labels(svg)
    ys = [float(y) for y in re.findall(r'y="([^"]+)"', spread)]
    assert ys[0] == 50 and abs(ys[1] - 50) >= 9 + 1, "the second label clears the first, the first stays"
    assert spread.replace(f'y="{ys[1]:.2f}"', 'y="52"').replace('x="100.00"', 'x="100"') == svg
    assert spread_labels(spread) == spread, "nothing left to move"
    assert text_width("GetParameter", 9) > 0.5 * 9 * len("GetParameter")
