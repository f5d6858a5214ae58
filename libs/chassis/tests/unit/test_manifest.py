import subprocess
import sys
from pathlib import Path

import pytest

from chassis.manifest import ManifestError, load, parse

SAMPLE = {"services": {
    "shop": {"summary": "A shop", "processes": {"worker": {"port": 9001}, "api": {"port": 9000}},
             "stand-ins": {"card-provider": {"port": 9009}, "mail-sink": {"port": 9025, "ready": "/health/live"}}},
    "stock": {"processes": {"worker": {"port": 9002}, "stream": {"port": 9003}}},
}}


def test_processes_are_named_as_in_the_procfile_and_run_their_service_module():
    manifest = parse(SAMPLE)
    assert [(p.name, p.command) for p in manifest.processes()] == [
        ("shop", "python -m shop worker"), ("shop-api", "python -m shop api"),
        ("stock", "python -m stock worker"), ("stock-stream", "python -m stock stream"),
        ("card-provider", "python -m shop card-provider"), ("mail-sink", "python -m shop mail-sink"),
    ]
    assert manifest.names == ("shop", "stock")
    assert manifest.service("stock").kinds == ("worker", "stream")


def test_ports_are_looked_up_per_process_and_absent_ones_are_none():
    manifest = parse(SAMPLE)
    assert manifest.port("shop", "api") == 9000
    assert manifest.port("shop", "card-provider") == 9009
    assert manifest.port("stock", "api") is None
    assert manifest.port("nowhere", "worker") is None
    assert manifest.ports("api") == {"shop": 9000}


def test_make_up_waits_on_every_process_and_only_on_the_stand_ins_that_name_a_path():
    assert parse(SAMPLE).ready_urls() == [
        "http://127.0.0.1:9001/health/ready", "http://127.0.0.1:9000/health/ready",
        "http://127.0.0.1:9002/health/ready", "http://127.0.0.1:9003/health/ready",
        "http://127.0.0.1:9025/health/live",
    ]


def test_the_procfile_lists_deployed_processes_then_the_stand_ins():
    lines = [line for line in parse(SAMPLE).procfile().splitlines() if not line.startswith("#")]
    assert lines == ["shop: python -m shop worker", "shop-api: python -m shop api", "stock: python -m stock worker",
                     "stock-stream: python -m stock stream", "card-provider: python -m shop card-provider",
                     "mail-sink: python -m shop mail-sink"]


@pytest.mark.parametrize(("services", "message"), [
    ({"a": {"processes": {"api": {"port": 1}}}}, "no worker"),
    ({"a": {"processes": {"worker": {"port": 1}, "cron": {"port": 2}}}}, "one of worker, api, stream"),
    ({"a": {"processes": {"worker": {"port": 1}}}, "b": {"processes": {"worker": {"port": 1}}}}, "port 1"),
    ({"a": {"processes": {"worker": {"port": "8090"}}}}, "port = <int>"),
    ({"a": {"processes": {"worker": {"port": 1}}, "ports": {}}}, "unknown keys"),
    ({}, "no [services"),
])
def test_a_manifest_that_contradicts_itself_is_refused(services, message):
    with pytest.raises(ManifestError, match=message.replace("[", r"\[")):
        parse({"services": services})


def test_the_command_line_prints_what_the_makefile_reads(tmp_path: Path):
    file = tmp_path / "services.toml"
    file.write_text('[services.shop]\nprocesses.worker = { port = 9001 }\nprocesses.api = { port = 9000 }\n'
                    '[services.stock]\nprocesses.worker = { port = 9002 }\n')
    assert load(file).names == ("shop", "stock")

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "chassis.manifest", "--file", str(file), *args],
                              capture_output=True, text=True, timeout=30)

    assert run("services").stdout == "shop stock\n"
    assert run("port", "shop", "api").stdout == "9000\n"
    assert run("ready-urls").stdout.split() == [f"http://127.0.0.1:{p}/health/ready" for p in (9001, 9000, 9002)]
    missing = run("port", "stock", "api")
    assert missing.returncode != 0 and "no process 'api' of service 'stock'" in missing.stderr
