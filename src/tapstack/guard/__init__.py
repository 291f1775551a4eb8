"""The guard: every failure class of the seed reviews as a named rule over the resource graph.

Kept import-free on purpose: ``runner`` imports ``guard.serialization`` while the rules import ``runner``;
import what you need from the submodules (``guard.rules.RULES``, ``guard.engine.evaluate``).
"""
