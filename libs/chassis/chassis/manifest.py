"""The platform's services and their processes, declared once in `contracts/services.toml`.

Settings take their default ports from it, `chassis.localinfra` and the tests their list of services
and processes, and the Makefile reads it through this module's command line. It imports only the
standard library, so that the Makefile can run it with the system Python before the venv exists:

    PYTHONPATH=libs/chassis python3 -m chassis.manifest services      # customer catalog ... (in order)
    PYTHONPATH=libs/chassis python3 -m chassis.manifest ready-urls    # what `make up` waits on
    PYTHONPATH=libs/chassis python3 -m chassis.manifest procfile      # the Procfile it implies
    PYTHONPATH=libs/chassis python3 -m chassis.manifest port notification smtp-sink
"""
from __future__ import annotations

import argparse
import functools
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path

FILE_NAME = "services.toml"
DEFAULT_READY_PATH = "/health/ready"


class ManifestError(ValueError):
    pass


@dataclass(frozen=True)
class Process:
    """`python -m <service> <kind>` on `port` by default; a stand-in is never deployed."""

    service: str
    kind: str
    port: int
    stand_in: bool = False
    ready_path: str | None = DEFAULT_READY_PATH

    @property
    def name(self) -> str:
        """Its Procfile name: the service for its worker, the command for a stand-in, else <service>-<kind>."""
        if self.stand_in:
            return self.kind
        return self.service if self.kind == "worker" else f"{self.service}-{self.kind}"

    @property
    def command(self) -> str:
        return f"python -m {self.service} {self.kind}"

    @property
    def ready_url(self) -> str | None:
        return f"http://127.0.0.1:{self.port}{self.ready_path}" if self.ready_path else None


@dataclass(frozen=True)
class Service:
    name: str
    summary: str
    processes: tuple[Process, ...]
    stand_ins: tuple[Process, ...]

    @property
    def kinds(self) -> tuple[str, ...]:
        return tuple(p.kind for p in self.processes)

    def process(self, kind: str) -> Process | None:
        return next((p for p in (*self.processes, *self.stand_ins) if p.kind == kind), None)


@dataclass(frozen=True)
class Manifest:
    services: tuple[Service, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """Every service, in the manifest's (dependency) order."""
        return tuple(s.name for s in self.services)

    def service(self, name: str) -> Service | None:
        return next((s for s in self.services if s.name == name), None)

    def processes(self, *, stand_ins: bool = True) -> list[Process]:
        """Every deployed process, then (unless `stand_ins=False`) every local stand-in."""
        deployed = [p for s in self.services for p in s.processes]
        return deployed + [p for s in self.services for p in s.stand_ins] if stand_ins else deployed

    def port(self, service: str, kind: str) -> int | None:
        """The default port of `python -m <service> <kind>`, or None when the manifest does not declare it."""
        entry = self.service(service)
        process = entry.process(kind) if entry else None
        return process.port if process else None

    def ports(self, kind: str) -> dict[str, int]:
        """{service: port} of every deployed process of one kind, e.g. ports("api")."""
        return {p.service: p.port for p in self.processes(stand_ins=False) if p.kind == kind}

    def ready_urls(self) -> list[str]:
        return [url for p in self.processes() if (url := p.ready_url)]

    def procfile(self) -> str:
        lines = ["# Every process of the platform, run by `make up` (python -m chassis.procfile: restarts a process",
                 "# that dies). Generated from contracts/services.toml: python -m chassis.manifest procfile > Procfile"]
        lines += [f"{p.name}: {p.command}" for p in self.processes(stand_ins=False)]
        lines.append("# Local stand-ins for the outside world (never deployed): " + ", ".join(
            f"{p.kind} :{p.port}" for p in self.processes() if p.stand_in))
        lines += [f"{p.name}: {p.command}" for p in self.processes() if p.stand_in]
        return "\n".join(lines) + "\n"


def manifest_path() -> Path:
    """contracts/services.toml, found as `chassis.contracts.contracts_dir()` finds contracts/ (CONTRACTS_DIR
    first; then upwards from the working directory and from this file), without importing it: the Makefile
    runs this module before any dependency is installed."""
    configured = os.environ.get("CONTRACTS_DIR")
    if configured:
        return Path(configured) / FILE_NAME
    for start in (Path.cwd(), Path(__file__).resolve()):
        for folder in (start, *start.parents):
            candidate = folder / "contracts" / FILE_NAME
            if candidate.is_file():
                return candidate
    raise ManifestError(f"contracts/{FILE_NAME} not found: set CONTRACTS_DIR")


def load(path: Path | str | None = None) -> Manifest:
    return _load(Path(path) if path is not None else manifest_path())


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> Manifest:
    try:
        data = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ManifestError(f"{path}: {exc}") from exc
    return parse(data, str(path))


def parse(data: dict[str, object], source: str = FILE_NAME) -> Manifest:
    services_table = data.get("services")
    if not isinstance(services_table, dict) or not services_table:
        raise ManifestError(f"{source}: no [services.<name>] tables")
    services: list[Service] = []
    ports: dict[int, str] = {}
    for name, entry in services_table.items():
        if not isinstance(entry, dict):
            raise ManifestError(f"{source}: services.{name} is not a table")
        unknown = set(entry) - {"summary", "processes", "stand-ins"}
        if unknown:
            raise ManifestError(f"{source}: services.{name} has unknown keys {sorted(unknown)}")
        processes = _processes(source, name, entry.get("processes", {}), stand_in=False)
        if "worker" not in (p.kind for p in processes):
            raise ManifestError(f"{source}: services.{name} has no worker process")
        stand_ins = _processes(source, name, entry.get("stand-ins", {}), stand_in=True)
        for process in (*processes, *stand_ins):
            if process.port in ports:
                taken = ports[process.port]
                raise ManifestError(f"{source}: port {process.port} of {process.name} is already {taken}'s")
            ports[process.port] = process.name
        services.append(Service(name, str(entry.get("summary", "")), tuple(processes), tuple(stand_ins)))
    return Manifest(tuple(services))


_PROCESS_KINDS = ("worker", "api", "stream", "charging")


def _processes(source: str, service: str, table: object, *, stand_in: bool) -> list[Process]:
    section = "stand-ins" if stand_in else "processes"
    if not isinstance(table, dict):
        raise ManifestError(f"{source}: services.{service}.{section} is not a table")
    out: list[Process] = []
    for kind, spec in table.items():
        where = f"{source}: services.{service}.{section}.{kind}"
        if not stand_in and kind not in _PROCESS_KINDS:
            raise ManifestError(f"{where}: a process is one of {', '.join(_PROCESS_KINDS)}")
        if not isinstance(spec, dict) or set(spec) - {"port", "ready"} or not isinstance(spec.get("port"), int):
            raise ManifestError(f"{where}: expected {{port = <int>[, ready = \"/path\"]}}")
        ready = spec.get("ready", None if stand_in else DEFAULT_READY_PATH)
        out.append(Process(service, kind, spec["port"], stand_in, ready))
    return out


def default_port(service: str, process: str) -> int:
    """The declared default port of `python -m <service> <process>` (a stand-in's too)."""
    found = load().port(service, process)
    if found is None:
        raise ManifestError(f"no process {process!r} of service {service!r} in contracts/{FILE_NAME}")
    return found


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m chassis.manifest", description=__doc__.splitlines()[0])
    parser.add_argument("--file", help="the manifest (default: contracts/services.toml)")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("services", help="every service, in order, space-separated")
    commands.add_parser("ready-urls", help="the URLs `make up` waits on, space-separated")
    commands.add_parser("procfile", help="the Procfile the manifest implies")
    port = commands.add_parser("port", help="the default port of one process")
    port.add_argument("service")
    port.add_argument("process")
    args = parser.parse_args(argv)
    manifest = load(args.file)
    if args.command == "services":
        print(" ".join(manifest.names))
    elif args.command == "ready-urls":
        print(" ".join(manifest.ready_urls()))
    elif args.command == "procfile":
        print(manifest.procfile(), end="")
    else:
        found = manifest.port(args.service, args.process)
        if found is None:
            raise SystemExit(f"no process {args.process!r} of service {args.service!r} in {args.file or FILE_NAME}")
        print(found)


if __name__ == "__main__":
    main()
