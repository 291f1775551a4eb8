"""Tests that each deploy a stack of their own into a new emulator (a release, a signal, another configuration)."""
