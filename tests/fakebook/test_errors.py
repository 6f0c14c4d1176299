"""The Facebook error envelope (fakebook.errors)."""

from __future__ import annotations

import json

from fakebook.errors import GraphError, invalid_param


def test_body_shape_and_default_statuses() -> None:
    body = GraphError("boom", code=190, subcode=463).body()
    error = body["error"]
    assert isinstance(error, dict)
    assert error["message"] == "boom"
    assert error["type"] == "OAuthException"
    assert error["error_subcode"] == 463
    assert len(str(error["fbtrace_id"])) == 11
    assert GraphError("x", code=190).http_status == 400
    assert GraphError("x", code=10).http_status == 403
    assert GraphError("x", code=200).http_status == 403
    assert GraphError("x", code=1, http_status=500).http_status == 500
    assert "error_subcode" not in GraphError("x", code=1).body()["error"]  # type: ignore[operator]


def test_response_with_www_authenticate_quotes_safely() -> None:
    error = GraphError('bad "code"', code=100, www_authenticate="invalid_code")
    response = error.response()
    assert response.status_code == 400
    assert response.headers["www-authenticate"] == (
        'OAuth "Facebook Platform" "invalid_code" "bad \'code\'"'
    )
    assert json.loads(bytes(response.body))["error"]["message"] == 'bad "code"'


def test_invalid_param_prefix() -> None:
    error = invalid_param("No matching user found", subcode=2018001)
    assert error.message == "(#100) No matching user found"
    assert (error.code, error.subcode) == (100, 2018001)
