"""The Output-inside-json.dumps mistake (seed 000 #2), caught where the program runs.

``json.dumps({"Resource": bucket.arn})`` raises a bare TypeError deep in the json module; ``str(output)`` or
an f-string quietly puts Pulumi's "Calling __str__ on an Output" text into the document. Either way the
fix is the same, and the error should say it: build the document with ``pulumi.Output.json_dumps``.
The runner calls ``explain_type_error`` and ``check_graph`` so `tapstack synth` fails with that message.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .errors import TapStackError
from .graph import Graph

OUTPUT_STRING_MARKERS = ("Calling __str__ on an Output", "<pulumi.output.Output")
"""What Python leaves in a string when an Output was formatted instead of resolved."""
FIX = (
    "build JSON that holds Outputs with pulumi.Output.json_dumps({...}) (it resolves them itself; "
    "lib/iam.to_json does this for policies), strings with Output.concat/Output.format"
)


class OutputSerializationError(TapStackError, ValueError):
    """A pulumi Output was serialized as if it were its value."""


def _call_site(err: BaseException) -> str | None:
    """``file:line`` of the code that handed the Output to json, for the error message."""
    frames = traceback.extract_tb(err.__traceback__)
    for i, frame in enumerate(frames):
        if "/json/" in Path(frame.filename).as_posix() and i > 0:
            caller = Path(frames[i - 1].filename)
            shown = caller.relative_to(Path.cwd()) if caller.is_relative_to(Path.cwd()) else caller
            return f"{shown}:{frames[i - 1].lineno}"
    return None


def explain_type_error(err: TypeError) -> OutputSerializationError | None:
    """The actionable error for ``json.dumps`` over an Output, or None for any other TypeError."""
    if "Object of type Output is not JSON serializable" not in str(err):
        return None
    site = _call_site(err)
    where = f" at {site}" if site else ""
    return OutputSerializationError(f"json.dumps was given a pulumi Output{where}: {FIX}")


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _strings(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, f"{path}[{i}]")


def stringified_outputs(graph: Graph) -> list[str]:
    """``<resource name>.<property path>`` of every input that contains a formatted Output."""
    return [
        f"{resource.name}.{path}"
        for resource in graph.resources
        for path, text in _strings(resource.inputs, "")
        if any(marker in text for marker in OUTPUT_STRING_MARKERS)
    ]


def check_graph(graph: Graph) -> None:
    found = stringified_outputs(graph)
    if found:
        raise OutputSerializationError(
            f"a pulumi Output was formatted with str()/an f-string into {', '.join(found)}: {FIX}"
        )
