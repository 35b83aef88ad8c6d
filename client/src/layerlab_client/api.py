"""The one module that speaks HTTP to the server (its `/api/v1/`, see the server's
docs/api.md). Every refusal becomes an `ApiError` with the server's code and message."""

from __future__ import annotations

from typing import Any

import httpx

from layerlab_client import __version__

TIMEOUT = httpx.Timeout(30.0, connect=10.0)


class ApiError(Exception):
    """The server answered with a refusal (`status` ≥ 400), or could not be reached (`status` 0)."""

    def __init__(self, status: int, code: str, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


class Api:
    def __init__(self, url: str, token: str = "", lang: str = "en") -> None:
        headers = {"Accept-Language": lang, "User-Agent": f"layerlab-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self.url = url
        self.token = token
        self.http = httpx.Client(base_url=f"{url}/api/v1", headers=headers, timeout=TIMEOUT)

    def close(self) -> None:
        self.http.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> object:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise ApiError(0, "unreachable", str(exc) or type(exc).__name__) from exc
        if response.status_code >= 400:
            raise _error(response)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise ApiError(response.status_code, "not_json", "the answer was not JSON") from exc

    def _object(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        found = self._call(method, path, **kwargs)
        if not isinstance(found, dict):
            raise ApiError(200, "unexpected", f"{path} did not answer with an object")
        return found

    def _list(self, path: str) -> list[dict[str, Any]]:
        found = self._call("GET", path)
        if not isinstance(found, list):
            raise ApiError(200, "unexpected", f"{path} did not answer with a list")
        return found

    def token_create(self, username: str, password: str, name: str, scope: str = "submit") -> dict[str, Any]:
        body = {"username": username, "password": password, "name": name, "scope": scope}
        return self._object("POST", "/tokens", json=body)

    def token_revoke(self) -> None:
        self._call("DELETE", "/tokens/current")

    def me(self) -> dict[str, Any]:
        return self._object("GET", "/me")

    def runs(self) -> list[dict[str, Any]]:
        return self._list("/runs")

    def exercises(self) -> list[dict[str, Any]]:
        return self._list("/exercises")

    def submit(
        self, course: str, exercise: str, dockerfile: str, dockerignore: str, assignment: int | None
    ) -> dict[str, Any]:
        body: dict[str, Any] = {
            "course": course,
            "exercise": exercise,
            "dockerfile": dockerfile,
            "dockerignore": dockerignore,
        }
        if assignment is not None:
            body["assignment"] = assignment
        return self._object("POST", "/submissions", json=body)

    def submission(self, submission_id: int) -> dict[str, Any]:
        return self._object("GET", f"/submissions/{submission_id}")

    def events(self, submission_id: int, after: int) -> dict[str, Any]:
        return self._object("GET", f"/submissions/{submission_id}/events", params={"after": after})


def _error(response: httpx.Response) -> ApiError:
    code, message = "http_error", response.reason_phrase or str(response.status_code)
    try:
        body = response.json()
        if isinstance(body, dict):
            code = str(body.get("code") or code)
            message = str(body.get("message") or body.get("detail") or message)
    except ValueError:
        pass
    retry = response.headers.get("Retry-After", "")
    return ApiError(response.status_code, code, message, int(retry) if retry.isdigit() else None)
