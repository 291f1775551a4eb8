"""Whatever the event, the handler answers in its documented shape, never raises, never blames itself."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tapstack.handler.events import ACTIONS

from .helpers import Region, body

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
IDS = st.from_regex(r"[A-Za-z0-9_-]{1,64}", fullmatch=True) | st.text(max_size=70) | JSON
KEYS = (
    st.sampled_from(
        ["releases/current.json", "migrations/m/metadata.json", "artifacts/manifests/none.json", "/abs", ""]
    )
    | st.text(max_size=40)
    | JSON
)
EVENTS = JSON | st.fixed_dictionaries(
    {"action": st.sampled_from(ACTIONS) | st.text(max_size=10) | JSON},
    optional={
        "migration_id": IDS,
        "manifest_key": KEYS,
        "extra": JSON,
    },
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(event=EVENTS)
def test_random_events_never_raise_and_never_get_a_5xx(aws: Region, event: Any) -> None:
    # The world is healthy and empty: every non-2xx answer is the caller's mistake, and none may write.
    before = aws.versions()
    response = aws.invoke(event)
    result = body(response)
    assert response["statusCode"] in (200, 400, 404), result
    if response["statusCode"] == 400:
        assert result["outcome"] == "invalid"
        assert result["field"], result
    assert aws.versions() == before
