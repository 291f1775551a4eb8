"""The generator of TAP007's table: reads the installed pulumi_aws SDK and writes ``deprecations.json``.

    python -m tapstack.guard.rules.deprecations_table

Run it after upgrading pulumi-aws and commit the table; tests/guard/test_deprecation_table.py fails until
then. Kept apart from the rule so that ``tapstack check`` never imports pulumi or pulumi_aws.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from .deprecations import REGENERATE, TABLE


def _class_message(cls: type) -> str | None:
    """The SDK announces a deprecated type with ``pulumi.log.warn("<Class> is deprecated: ...")`` on creation
    (read from the module file: tokenizing it with inspect.getsource costs 0.3 s per large module)."""
    import inspect

    source = Path(inspect.getfile(cls)).read_text()
    found = re.search(rf'pulumi\.log\.warn\("""{cls.__name__} is deprecated: (.*?)"""\)', source, re.S)
    return found.group(1).strip() if found else None


def _property_messages(cls: type) -> dict[str, str]:
    """Getters wrapped by the SDK's ``@deprecated`` carry a marker, their engine name (from
    ``@pulumi.getter``) and the message in their closure."""
    messages: dict[str, str] = {}
    for klass in cls.__mro__:
        for value in vars(klass).values():
            getter = getattr(value, "fget", None)
            engine_name = getattr(getter, "_pulumi_name", None)
            if getter is None or not hasattr(getter, "_pulumi_deprecated_callable"):
                continue
            if not isinstance(engine_name, str):
                continue
            cells = [c.cell_contents for c in getter.__closure__ or ()]
            messages[engine_name] = next((c for c in cells if isinstance(c, str)), "deprecated")
    return messages


def read_sdk() -> dict[str, Any]:
    """The table, read from the installed pulumi_aws: every resource class whose module carries a deprecation
    mark is imported (about fifty of three thousand modules) and its class and property marks collected."""
    import importlib
    import importlib.metadata
    import importlib.util

    import pulumi

    spec = importlib.util.find_spec("pulumi_aws")
    if spec is None or spec.origin is None:
        raise RuntimeError("pulumi_aws is not installed: the deprecation table is read from it")
    root = Path(spec.origin).parent
    resources: dict[str, str] = {}
    properties: dict[str, dict[str, str]] = {}
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("_"):
            continue
        text = path.read_text()
        if "(pulumi.CustomResource)" not in text:
            continue
        if "_utilities.deprecated(" not in text and " is deprecated: " not in text:
            continue
        module = importlib.import_module(".".join(("pulumi_aws", *path.relative_to(root).with_suffix("").parts)))
        for cls in vars(module).values():
            if not (isinstance(cls, type) and issubclass(cls, pulumi.CustomResource)):
                continue
            if cls.__module__ != module.__name__:
                continue
            token = pulumi.get_type_token(cls)
            if not isinstance(token, str):
                continue
            message = _class_message(cls)
            if message:
                resources[token] = message
            marked = _property_messages(cls)
            if marked:
                properties[token] = dict(sorted(marked.items()))
    return {
        "pulumi_aws": importlib.metadata.version("pulumi_aws"),
        "generated_by": REGENERATE,
        "resources": dict(sorted(resources.items())),
        "properties": dict(sorted(properties.items())),
    }


def render_table(table: dict[str, Any]) -> str:
    import json

    return json.dumps(table, indent=1) + "\n"


if __name__ == "__main__":
    TABLE.write_text(render_table(read_sdk()))
    print(f"wrote {TABLE}")
