"""The architecture diagram: what a reader needs to see of a stack, derived from the resource graph itself.

A region holds about a hundred resources, and most of them only refine another one (route table
associations, NACL entries, bucket settings, role policies) or serve one (the role of a function, the
launch template of a group). Drawing them all gives a hairball; dropping them loses relations. So each is
folded into the resource it refines or serves, its references become that resource's edges, and the
picture keeps every relation (Lambda -> bucket comes from the Lambda's role policy) with a few nodes per
region. Nothing here knows a resource name: edges come from ids and ARNs found in inputs, disambiguated by
the recorded dependencies.

The package splits the job: ``boxes`` folds resources into boxes and places them (the references come from
``graph.References``), ``references`` turns references into typed edges, ``labels`` writes each box's title
and facts, ``dot`` lays it out for Graphviz.
"""

from __future__ import annotations

from .boxes import build
from .dot import EDGE_STYLE, FORMATS, INSTALL_HINT, GraphvizMissing, dot_available, render, to_dot
from .model import Diagram, Edge, Node, Vpc

__all__ = [
    "EDGE_STYLE",
    "FORMATS",
    "INSTALL_HINT",
    "Diagram",
    "Edge",
    "GraphvizMissing",
    "Node",
    "Vpc",
    "build",
    "dot_available",
    "render",
    "to_dot",
]
