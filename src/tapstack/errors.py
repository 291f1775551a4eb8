"""The one base class of the errors a user can act on.

The CLI catches ``TapStackError`` alone and prints it as one line with exit code 2: a new module's error
class joins by subclassing it, never by being added to a list somewhere else.
"""

from __future__ import annotations


class TapStackError(Exception):
    """A mistake in the user's input or environment, with a message that says what to change."""
