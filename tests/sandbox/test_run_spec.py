"""sandbox.run.spec: an invalid structure-test spec is refused before anything runs, with CST's
field names and a hint where a field is misnamed."""

from __future__ import annotations

from typing import Any

import pytest

from sandbox.run.spec import SpecError, validate_spec


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"commandTest": []}, "unknown field 'commandTest'"),
        ({"commandTests": [{"command": "ls"}]}, "commandTests[0] (no name): 'name' is required"),
        ({"commandTests": [{"name": "lists"}]}, "commandTests[0] \"lists\": 'command' is required"),
        ({"fileExistenceTests": [{"name": "f"}]}, "fileExistenceTests[0] \"f\": 'path' is required"),
        ({"fileContentTests": [{"name": "c", "path": "/x", "expected": ["a"]}]}, "unknown field 'expected'"),
        ({"metadataTest": {"env": [{"key": "A", "value": "b"}]}}, "'env' (did you mean 'envVars'?)"),
        ({"commandTests": [{"name": "la", "command": "ls", "expectedOutput": ["(?=x)"]}]}, "not valid"),
        ({"fileExistenceTests": [{"name": "e", "path": "/x", "isExecutableBy": "me"}]}, "isExecutableBy"),
        ({"containerRunOptions": {"privileged": True}}, "privileged would loosen the sandbox"),
        ({"schemaVersion": "1.0.0", "commandTests": []}, "schemaVersion"),
        ({"schemaVersion": "2.0.0"}, "has no tests"),
    ],
)
def test_an_invalid_spec_is_refused_before_anything_runs(spec: dict[str, Any], message: str) -> None:
    with pytest.raises(SpecError) as caught:
        validate_spec(spec)
    assert message in str(caught.value)
