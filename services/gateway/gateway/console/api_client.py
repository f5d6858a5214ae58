"""The console's way into the gateway: the operators' API itself, called in-process.

Every console action is an ordinary API request made with the signed-in operator's bearer
token through the same ASGI app that serves `/api/v1`, so the same bearer check, roles,
OpenAPI validation, problem+json errors and audit trail apply: there is no second set of rules.
No network hop: the request goes straight into the app's middleware stack.
"""
from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import anyio

ASGIApp = Any


@dataclass
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


@dataclass
class ApiProblem(Exception):
    """A non-2xx answer of the API: its RFC 7807 problem, with field errors by dotted name."""

    status: int
    title: str
    detail: str = ""
    fields: dict[str, str] = field(default_factory=dict)
    problem: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_response(cls, response: ApiResponse) -> ApiProblem:
        try:
            problem = response.json() or {}
        except ValueError:
            problem = {}
        if not isinstance(problem, dict):
            problem = {}
        fields = {str(p.get("name")): str(p.get("reason", "")) for p in problem.get("invalid_params") or []
                  if isinstance(p, dict)}
        return cls(status=response.status, title=str(problem.get("title") or f"HTTP {response.status}"),
                   detail=str(problem.get("detail") or ""), fields=fields, problem=problem)

    def __str__(self) -> str:
        return self.detail or self.title


def _scope(method: str, path: str, query: Mapping[str, Any] | None, headers: dict[str, str]) -> dict[str, Any]:
    params = {k: v for k, v in (query or {}).items() if v not in (None, "")}
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method.upper(),
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": urlencode(params, doseq=True).encode(),
        "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
        "client": ("127.0.0.1", 0), "server": ("console", 80), "extensions": {},
    }


def _one_request(payload: bytes | None) -> Any:
    """ASGI `receive`: the whole body at once; asked again (to learn of a disconnect), it waits,
    since the in-process caller never goes away before the answer."""
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await anyio.sleep_forever()
        sent = True
        return {"type": "http.request", "body": payload or b"", "more_body": False}

    return receive


class Api:
    """The operators' API as one signed-in operator sees it."""

    def __init__(self, app: ASGIApp, token: str | None, trace_headers: dict[str, str] | None = None):
        self._app = app
        self._token = token
        self._trace = trace_headers or {}

    def _headers(self, body: bytes | None, extra: dict[str, str] | None) -> dict[str, str]:
        headers = {"accept": "application/json", **self._trace}
        if self._token:
            headers["authorization"] = f"Bearer {self._token}"
        if body is not None:
            headers["content-type"] = "application/json"
            headers["content-length"] = str(len(body))
        headers.update({k.lower(): v for k, v in (extra or {}).items()})
        return headers

    async def request(self, method: str, path: str, *, query: Mapping[str, Any] | None = None,
                      body: Any = None, headers: dict[str, str] | None = None) -> ApiResponse:
        payload = None if body is None else json.dumps(body).encode()
        scope = _scope(method, path, query, self._headers(payload, headers))
        receive = _one_request(payload)
        status, out_headers, chunks = 500, {}, bytearray()

        async def send(message: dict[str, Any]) -> None:
            nonlocal status, out_headers
            if message["type"] == "http.response.start":
                status = message["status"]
                out_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in message.get("headers", [])}
            elif message["type"] == "http.response.body":
                chunks.extend(message.get("body", b""))

        await self._app(scope, receive, send)
        return ApiResponse(status, out_headers, bytes(chunks))

    async def call(self, method: str, path: str, **kwargs: Any) -> ApiResponse:
        """Like `request`, but a non-2xx answer raises its ApiProblem."""
        response = await self.request(method, path, **kwargs)
        if not response.ok:
            raise ApiProblem.from_response(response)
        return response

    async def get(self, path: str, **query: Any) -> Any:
        return (await self.call("GET", path, query=query)).json()

    async def page(self, path: str, **query: Any) -> tuple[list[Any], int]:
        """A listed collection and its X-Total-Count."""
        response = await self.call("GET", path, query=query)
        return response.json(), int(response.headers.get("x-total-count", "0"))

    async def stream(self, path: str, *, query: Mapping[str, Any] | None = None,
                     accept: str = "text/csv") -> AsyncIterator[bytes]:
        """The body of a streamed GET, chunk by chunk as the API writes it (large exports stay small in memory).
        The caller checks the request is valid first: a failure here just ends the stream."""
        scope = _scope("GET", path, query, {**self._headers(None, None), "accept": accept})
        sender, receiver = anyio.create_memory_object_stream[dict[str, Any]](8)
        receive = _one_request(None)

        async def run() -> None:
            async with sender:
                await self._app(scope, receive, sender.send)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run)
            ok = False
            async with receiver:
                async for message in receiver:
                    if message["type"] == "http.response.start":
                        ok = message["status"] == 200
                    elif message["type"] == "http.response.body" and ok and message.get("body"):
                        yield message["body"]
