"""Unit tests of the tapstack command: each subcommand, startup cost, package layout."""
