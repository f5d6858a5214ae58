"""Helpers for the HTTP processes (connexion 3 on uvicorn, never eventlet).

`build_app` loads OpenAPI files from contracts/http, maps typed errors to RFC 7807
problems, traces every request and counts it. Health and metrics handlers are
referenced by operationId from the OpenAPI files.
"""
from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from typing import Any

import connexion
import jsonschema
from connexion.datastructures import MediaTypeDict
from connexion.json_schema import Draft4RequestValidator, allow_nullable
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.utils import is_null, is_nullable
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator, ParameterValidator
from jsonschema import Draft4Validator
from opentelemetry.trace import SpanKind, Status, StatusCode

from chassis import metrics, telemetry
from chassis.contracts import HTTP_METHODS, INT64_MAX, INT64_MIN, contracts_dir, http_spec
from chassis.errors import PlatformError, ValidationFailed
from chassis.health import amqp_ok, mongo_ok
from chassis.settings import Settings

PROBLEM = "application/problem+json"
log = logging.getLogger("chassis.http")
_state: dict[str, Any] = {}


def problem_response(error: PlatformError, instance: str | None = None) -> ConnexionResponse:
    retry_after = getattr(error, "retry_after", None)
    return ConnexionResponse(
        status_code=error.status,
        body=json.dumps(error.to_problem(instance)),
        content_type=PROBLEM,
        mimetype=PROBLEM,
        headers={"Retry-After": str(retry_after)} if retry_after else None,
    )


def json_response(
    body: Any, status: int = 200, headers: dict[str, str] | None = None
) -> tuple[Any, int, dict[str, str]]:
    """A JSON result; explicit because operations also declare problem+json responses."""
    return body, status, {"Content-Type": "application/json", **(headers or {})}


def _platform_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    assert isinstance(exc, PlatformError)
    return problem_response(exc, str(request.url.path))


def _unexpected_error(request: ConnexionRequest, exc: Exception) -> ConnexionResponse:
    # Starlette calls this handler outside the `except` block, so the exception is passed
    # explicitly: `log.exception` alone would log "NoneType: None" instead of the traceback.
    trace_id = telemetry.current_trace_id()
    log.error("unhandled error", exc_info=(type(exc), exc, exc.__traceback__),
              extra={"path": str(request.url.path), "method": request.method})
    problem = PlatformError("An unexpected error occurred; it has been logged"
                            + (f" under trace id {trace_id}." if trace_id else "."))
    response = problem_response(problem, str(request.url.path))
    if trace_id:
        body = json.loads(response.body)
        response.body = json.dumps({**body, "traceId": trace_id})
    return response


# OpenAPI 3.0's `nullable: true` beside `allOf` (how a nullable reference is written) must let
# null through the whole subschema; connexion's validator only relaxes `type` and `enum`.
_NullableRequestValidator = jsonschema.validators.extend(
    Draft4RequestValidator,
    {keyword: allow_nullable(Draft4RequestValidator.VALIDATORS[keyword]) for keyword in ("allOf", "anyOf", "oneOf")},
)


class ProblemJSONBodyValidator(JSONRequestBodyValidator):
    """Validates a JSON body against the OpenAPI schema and reports *every* bad field
    as `invalid_params`, like the services' own validation errors (connexion stops at
    the first error and names the field only inside `detail`)."""

    @property
    def _validator(self) -> Any:
        return _NullableRequestValidator(self._schema, format_checker=Draft4Validator.FORMAT_CHECKER)

    async def _parse(self, stream: Any, scope: Any) -> Any:
        raw = b"".join([message async for message in stream])
        try:
            text = raw.decode(self._encoding)
        except (UnicodeDecodeError, LookupError):
            raise ValidationFailed(f"The request body is not valid {self._encoding} text",
                                   {"body": f"not {self._encoding}"}) from None
        if not text:
            return None
        try:
            body = json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise ValidationFailed("The request body is not valid JSON", {"body": str(exc)[:200]}) from None
        wide = list(_wide_integers(body, ""))
        if wide:
            raise ValidationFailed("Integers must fit in 64 bits",
                                   {name: "integer out of the signed 64-bit range" for name in wide})
        return body

    def _validate(self, body: Any) -> dict[str, Any] | None:
        if not self._nullable and body is None:
            raise ValidationFailed("The request body must not be empty")
        fields: dict[str, str] = {}
        for error in self._validator.iter_errors(body):
            for name in _field_names(error):
                fields.setdefault(name, error.message)
        if fields:
            raise ValidationFailed(f"Invalid value for: {', '.join(sorted(fields))}", fields)
        return body


def _wide_integers(node: Any, path: str) -> Iterator[str]:
    """Paths of integers no service can store (MongoDB holds signed 64-bit integers), also inside
    free-form objects that the schema does not type."""
    if isinstance(node, bool):
        return
    if isinstance(node, int) and not INT64_MIN <= node <= INT64_MAX:
        yield path or "body"
    elif isinstance(node, dict):
        for key, value in node.items():
            yield from _wide_integers(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from _wide_integers(value, f"{path}.{index}" if path else str(index))


def _field_names(error: Any) -> list[str]:
    base = ".".join(str(part) for part in error.absolute_path)
    prefix = f"{base}." if base else ""
    if error.validator == "required" and isinstance(error.instance, dict):
        # jsonschema reports each missing property as its own error, named in the message.
        missing = [name for name in error.validator_value if name not in error.instance]
        named = [name for name in missing if f"'{name}'" in error.message]
        return [f"{prefix}{name}" for name in (named or missing)]
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        allowed = set(error.schema.get("properties", {}))
        return [f"{prefix}{name}" for name in error.instance if name not in allowed]
    return [base or "body"]


class ProblemParameterValidator(ParameterValidator):
    """Validates path, query, header and cookie parameters and names *every* bad one in
    `invalid_params`, the same problem shape as body errors (connexion stops at the first and
    names it only inside a long `detail`)."""

    def validate_request(self, request: Any) -> None:
        fields: dict[str, str] = {}
        if self.strict_validation:
            for name in self.validate_query_parameter_list(request, security_params=self.security_query_params):
                fields[name] = "unknown query parameter"
        sources = {"query": request.query_params, "header": request.headers, "cookie": request.cookies}
        for location in ("path", "query", "header", "cookie"):
            for param in self.parameters.get(location, []):
                value = (request.path_params.get(param["name"].replace("-", "_")) if location == "path"
                         else sources[location].get(param["name"]))
                error = _parameter_error(value, param)
                if error:
                    fields[param["name"]] = error
        if fields:
            raise ValidationFailed(f"Invalid value for: {', '.join(sorted(fields))}", fields)


def _parameter_error(value: Any, param: dict[str, Any]) -> str | None:
    if value is None:
        return "required" if param.get("required") else None
    if is_nullable(param) and is_null(value):
        return None
    error = jsonschema.exceptions.best_match(
        Draft4Validator(param.get("schema", param), format_checker=Draft4Validator.FORMAT_CHECKER).iter_errors(value))
    return error.message if error is not None else None


_VALIDATORS = {**VALIDATOR_MAP, "parameter": ProblemParameterValidator,
               "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": ProblemJSONBodyValidator})}


class RequestObservability:
    """ASGI middleware: one SERVER span per request (continuing an incoming
    `traceparent`), and request metrics labelled by OpenAPI operation."""

    def __init__(self, app: Any):
        self.app = app

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope.get("headers", [])}
        method = scope["method"]
        status = {"code": 500}

        async def capture(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        started = time.perf_counter()
        with telemetry.tracer().start_as_current_span(
            f"{method} {scope['path']}",
            context=telemetry.context_from(headers.get("traceparent")),
            kind=SpanKind.SERVER,
        ) as span:
            try:
                await self.app(scope, receive, capture)
            finally:
                route = scope.get("extensions", {}).get("connexion_routing", {}).get("operation_id") or "unmatched"
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.response.status_code", status["code"])
                if status["code"] >= 500:
                    span.set_status(Status(StatusCode.ERROR))
                metrics.HTTP_REQUESTS.labels(method, route, str(status["code"])).inc()
                metrics.HTTP_SECONDS.labels(method, route).observe(time.perf_counter() - started)


class AllowedMethods:
    """ASGI middleware: `OPTIONS` on any path of the API answers 204 with `Allow` listing every
    method the contract declares for it (RFC 9110); other paths fall through to a 404."""

    def __init__(self, app: Any, routes: list[tuple[re.Pattern[str], str]]):
        self.app = app
        self.routes = routes

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http" and scope["method"] == "OPTIONS":
            allowed = next((methods for pattern, methods in self.routes if pattern.fullmatch(scope["path"])), None)
            if allowed is not None:
                await send({"type": "http.response.start", "status": 204,
                            "headers": [(b"allow", allowed.encode()), (b"content-length", b"0")]})
                await send({"type": "http.response.body", "body": b""})
                return
        await self.app(scope, receive, send)


def allowed_methods(spec: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    """(path pattern, `Allow` value) for every path of an OpenAPI document."""
    routes = []
    for path, item in spec.get("paths", {}).items():
        methods = {m.upper() for m in item if m in HTTP_METHODS}
        if "GET" in methods:
            methods.add("HEAD")
        methods.add("OPTIONS")
        pattern = "".join("[^/]+" if part.startswith("{") else re.escape(part)
                          for part in re.split(r"(\{[^}]+\})", path))
        routes.append((re.compile(pattern), ", ".join(sorted(methods))))
    return routes


def build_app(settings: Settings, specs: list[str], **api_options: Any) -> connexion.AsyncApp:
    telemetry.setup(settings)
    _state["settings"] = settings
    app = connexion.AsyncApp(settings.service, specification_dir=str(contracts_dir() / "http"))
    routes = []
    for spec in specs:
        document = http_spec(spec)
        routes.extend(allowed_methods(document))
        app.add_api(document, name=spec, strict_validation=True, pythonic_params=True,
                    validator_map=_VALIDATORS, **api_options)
    app.add_error_handler(PlatformError, _platform_error)
    app.add_error_handler(Exception, _unexpected_error)
    app.add_middleware(RequestObservability, position=MiddlewarePosition.BEFORE_EXCEPTION)
    app.add_middleware(AllowedMethods, position=MiddlewarePosition.BEFORE_EXCEPTION, routes=routes)
    return app


# -- handlers referenced from OpenAPI files ------------------------------------------

def health_live() -> tuple[dict[str, str], int]:
    return {"status": "live"}, 200


def health_ready() -> tuple[dict[str, Any], int]:
    settings: Settings = _state["settings"]
    mongo, mongo_detail = mongo_ok()
    amqp, amqp_detail = amqp_ok(settings.amqp_uri)
    ok = mongo and amqp
    return {"status": "ready" if ok else "not ready", "checks": {"mongodb": mongo_detail, "amqp": amqp_detail}}, (
        200 if ok else 503
    )


def prometheus_metrics() -> ConnexionResponse:
    body, content_type = metrics.render()
    return ConnexionResponse(status_code=200, body=body, content_type=content_type, mimetype="text/plain")
