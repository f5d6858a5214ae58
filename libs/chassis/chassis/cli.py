"""The command line every service shares: `python -m <service> worker|api|migrate|<job>`.

Imports stay inside the branches: a worker must monkey-patch with eventlet
before pymongo or pika are imported, and an API process must never be patched.
"""
from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Sequence
from typing import Any


def _load(path: str) -> Any:
    module, _, attr = path.partition(":")
    return getattr(importlib.import_module(module), attr)


def service_main(
    service: str,
    *,
    worker: str,
    documents: str,
    api: str | None = None,
    stream: str | None = None,
    stream_topology: str | None = None,
    consumers: dict[str, tuple[str, str]] | None = None,
    jobs: dict[str, str] | None = None,
    argv: list[str] | None = None,
) -> None:
    """`worker`, `api` and `documents` are import paths (`package.module:attr`);
    `stream` is the service's hot-path stream consumer (a function taking Settings that runs until SIGTERM;
    health on HEALTH_PORT, default the stream's port in contracts/services.toml) and `stream_topology` its
    `chassis.stream.StreamTopology`, declared by `migrate` so that events published before the first start
    are kept; `consumers` are further processes of that shape, `{command: (runner, topology)}` (e.g. rating's
    charging RPC server, `chassis.rpc_batch`), run and declared the same way; `jobs` maps extra command names
    to functions taking Settings."""
    args = sys.argv[1:] if argv is None else argv
    runners = {**({"stream": (stream, stream_topology)} if stream else {}), **(consumers or {})}
    commands = ["worker", "migrate", *(["api"] if api else []), *runners, *sorted(jobs or {})]
    if not args or args[0] not in commands:
        raise SystemExit(f"usage: python -m {service} {{{'|'.join(commands)}}}")
    command = args[0]
    if command == "worker":
        import eventlet

        eventlet.monkey_patch()
        from chassis.nameko_adapter import run_worker

        run_worker(worker, service)
        return

    from chassis.settings import Settings

    settings = Settings.from_env(service)
    if command == "api":
        import uvicorn

        assert api is not None

        uvicorn.run(api, factory=True, host=settings.http_host, port=settings.http_port, log_config=None,
                    proxy_headers=True, timeout_graceful_shutdown=10)
    elif command in runners:
        from chassis import telemetry
        from chassis.mongo import connect

        settings = Settings.from_env(service, process=command)  # the process's own health port
        telemetry.setup(settings)
        connect(settings)
        _load(runners[command][0])(settings)
    elif command == "migrate":
        migrate(service, settings, _load(documents), _load(worker),
                [_load(topology) for _, topology in runners.values() if topology])
    else:
        from chassis import telemetry
        from chassis.mongo import connect

        telemetry.setup(settings)
        connect(settings)
        job: Callable[[Any], Any] = _load((jobs or {})[command])
        job(settings)


def migrate(service: str, settings: Any, documents: list[Any], worker_cls: type,
            topologies: Sequence[Any] = ()) -> None:
    """Create indexes and declare the worker's queues. Idempotent; run before every upgrade."""
    from chassis import telemetry
    from chassis.mongo import connect, ensure_indexes
    from chassis.nameko_adapter import declare_topology

    telemetry.setup(settings)
    connect(settings)
    ensure_indexes(documents)
    queues = declare_topology(worker_cls, settings.amqp_uri)
    if topologies:
        import pika

        connection = pika.BlockingConnection(pika.URLParameters(settings.amqp_uri))
        try:
            for topology in topologies:
                topology.declare(connection.channel())
                queues.append(topology.queue)
        finally:
            connection.close()
    print(f"{service}: indexes ensured for {len(documents)} document types; queues declared: {queues or 'none'}")
