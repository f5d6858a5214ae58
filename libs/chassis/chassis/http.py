"""Helpers for the HTTP processes (connexion 3 on uvicorn, never eventlet).

`build_app` loads OpenAPI files from contracts/http, maps typed errors to RFC 7807
problems, traces every request and counts it. Health and metrics handlers are
referenced by operationId from the OpenAPI files.
"""
from __future__ import annotations

import json
import time
from typing import Any

import connexion
from connexion.datastructures import MediaTypeDict
from connexion.lifecycle import ConnexionRequest, ConnexionResponse
from connexion.middleware import MiddlewarePosition
from connexion.validators import VALIDATOR_MAP, JSONRequestBodyValidator
from opentelemetry.trace import SpanKind, Status, StatusCode

from chassis import metrics, telemetry
from chassis.contracts import contracts_dir, http_spec
from chassis.errors import PlatformError, ValidationFailed
from chassis.health import amqp_ok, mongo_ok
from chassis.settings import Settings

PROBLEM = "application/problem+json"
_state: dict[str, Any] = {}


def problem_response(error: PlatformError, instance: str | None = None) -> ConnexionResponse:
    return ConnexionResponse(
        status_code=error.status,
        body=json.dumps(error.to_problem(instance)),
        content_type=PROBLEM,
        mimetype=PROBLEM,
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
    import logging

    logging.getLogger("chassis.http").exception("unhandled error", extra={"path": str(request.url.path)})
    return problem_response(PlatformError("An unexpected error occurred; it has been logged."), str(request.url.path))


class ProblemJSONBodyValidator(JSONRequestBodyValidator):
    """Validates a JSON body against the OpenAPI schema and reports *every* bad field
    as `invalid_params`, like the services' own validation errors (connexion stops at
    the first error and names the field only inside `detail`)."""

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


_VALIDATORS = {**VALIDATOR_MAP, "body": MediaTypeDict({**VALIDATOR_MAP["body"], "*/*json": ProblemJSONBodyValidator})}


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


def build_app(settings: Settings, specs: list[str], **api_options: Any) -> connexion.AsyncApp:
    telemetry.setup(settings)
    _state["settings"] = settings
    app = connexion.AsyncApp(settings.service, specification_dir=str(contracts_dir() / "http"))
    for spec in specs:
        app.add_api(http_spec(spec), name=spec, strict_validation=True, pythonic_params=True,
                    validator_map=_VALIDATORS, **api_options)
    app.add_error_handler(PlatformError, _platform_error)
    app.add_error_handler(Exception, _unexpected_error)
    app.add_middleware(RequestObservability, position=MiddlewarePosition.BEFORE_EXCEPTION)
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
