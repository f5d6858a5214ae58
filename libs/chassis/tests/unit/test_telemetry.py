import json
import logging

from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from chassis import telemetry


def test_traceparent_round_trips_through_a_string():
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("parent") as span:
        carried = telemetry.current_traceparent()
    assert carried and carried.startswith("00-")
    context = telemetry.context_from(carried)
    restored = trace.get_current_span(context).get_span_context()
    assert restored.trace_id == span.get_span_context().trace_id
    assert restored.span_id == span.get_span_context().span_id
    assert telemetry.context_from(None) is None


def test_the_traceparent_of_a_span_that_is_never_current_is_the_one_injected_had_it_been_current():
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("caller"):
        span = tracer.start_span("rpc client")  # a child of the caller's span, not made current
    with trace.use_span(span):
        injected = telemetry.current_traceparent()
    assert telemetry.traceparent_of(span) == injected
    assert telemetry.traceparent_of(trace.INVALID_SPAN) is None


def test_without_an_exporter_rpc_client_spans_are_not_built_yet_the_callers_trace_is_passed_on(monkeypatch):
    recording = TracerProvider().get_tracer("process")
    monkeypatch.setattr(telemetry, "tracer", lambda name="monetization": recording)
    monkeypatch.setattr(telemetry, "_provider", TracerProvider())  # as setup() leaves a process with no exporter
    monkeypatch.setattr(telemetry, "_exporting", False)
    with TracerProvider().get_tracer("t").start_as_current_span("caller"):
        span = telemetry.exported_tracer().start_span("rpc rating.reserve")
        callers = telemetry.current_traceparent()
    assert not span.is_recording()
    assert telemetry.traceparent_of(span) == callers
    monkeypatch.setattr(telemetry, "_exporting", True)
    assert telemetry.exported_tracer().start_span("rpc rating.reserve").is_recording()


def test_json_logs_carry_the_trace_id_of_the_current_span():
    formatter = telemetry.JsonFormatter("customer")
    tracer = TracerProvider().get_tracer("t")
    with tracer.start_as_current_span("work") as span:
        record = logging.makeLogRecord({"msg": "hello %s", "args": ("world",), "levelname": "INFO", "order": 5})
        line = json.loads(formatter.format(record))
    assert line["msg"] == "hello world"
    assert line["service"] == "customer"
    assert line["order"] == 5
    assert line["trace_id"] == format(span.get_span_context().trace_id, "032x")
