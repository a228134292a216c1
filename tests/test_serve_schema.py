"""Property-based requests against ``actscope serve``'s own OpenAPI schema (schemathesis):
whatever a client sends that the schema allows, the server never answers 5xx."""

from __future__ import annotations

from collections import Counter

import schemathesis
from hypothesis import HealthCheck, given, settings

from running_server import running_server

EXAMPLES_PER_OPERATION = 80


def test_no_server_error_over_generated_requests(tmp_path):
    with running_server(tmp_path / "data", "--workers", "1", token="fuzz-token") as server:
        auth = {"Authorization": "Bearer fuzz-token"}
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json", headers=auth)
        sent: Counter[str] = Counter()
        statuses: Counter[int] = Counter()
        for found in schema.get_all_operations():
            operation = found.ok()

            @settings(
                max_examples=EXAMPLES_PER_OPERATION,
                deadline=None,
                database=None,
                derandomize=True,  # the same requests every run
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy())
            def send(case) -> None:
                response = case.call(base_url=server.url, headers=auth)
                sent[case.operation.label] += 1
                statuses[response.status_code] += 1
                assert response.status_code < 500, (case.operation.label, response.text[:300])

            send()
    assert len(sent) >= 10, sorted(sent)  # every operation of the API was exercised
    assert sum(sent.values()) >= 500, sent
    assert statuses[200] and statuses[404] and statuses[422], statuses
