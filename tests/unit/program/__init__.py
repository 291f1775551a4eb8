"""Unit tests of the program under mocks: components, policies, names, the runner and the type registry."""
