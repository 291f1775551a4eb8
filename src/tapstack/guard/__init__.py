"""The guard: every failure class of the seed reviews as a named rule over the resource graph.

A library over the graph: it never imports the CLI. Import what you need from the submodules
(``guard.rules.RULES``, ``guard.engine.evaluate``) so that loading one rule does not load them all.
"""
