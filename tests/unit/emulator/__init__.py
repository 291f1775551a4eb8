"""Unit tests of the emulator's server, engine and service adapters."""
