"""contracts/services.toml declares the services and their processes once; every other place that has to
name them is checked against it here (docs/adding-a-service.md, step 3)."""
from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path

import yaml

from chassis import manifest
from chassis.contracts import http_spec
from chassis.settings import SERVICES

ROOT = Path(__file__).resolve().parents[2]
MANIFEST = manifest.load(ROOT / "contracts" / "services.toml")
CHART = ROOT / "deploy" / "helm" / "monetization"
COMPONENTS = ("worker", "api", "stream", "charging")  # the Helm chart's workload components


def test_every_service_folder_is_in_the_manifest_and_every_declared_service_has_one():
    folders = sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file())
    assert sorted(MANIFEST.names) == folders


def test_the_procfile_is_the_one_the_manifest_implies():
    # Regenerate with: .venv/bin/python -m chassis.manifest procfile > Procfile
    assert (ROOT / "Procfile").read_text() == MANIFEST.procfile()


def test_the_gateway_lists_jobs_of_exactly_the_manifest_services():
    enum = http_spec("gateway")["components"]["schemas"]["JobService"]["enum"]
    assert enum == list(MANIFEST.names)
    assert SERVICES == MANIFEST.names  # what the gateway's GET /api/v1/jobs fans out to


def test_the_chart_deploys_the_manifest_services_with_their_processes():
    values = yaml.safe_load((CHART / "values.yaml").read_text())
    assert list(values["services"]) == list(MANIFEST.names)
    for service in MANIFEST.services:
        declared = [kind for kind in COMPONENTS if kind in values["services"][service.name]]
        assert declared == [kind for kind in COMPONENTS if kind in service.kinds], service.name
        api_port = MANIFEST.port(service.name, "api")
        if api_port is not None:
            assert values["services"][service.name]["api"]["port"] == api_port, service.name
    assert values["migrations"]["order"] == list(MANIFEST.names)


def test_the_chart_schema_accepts_exactly_the_manifest_services_and_their_components():
    schema = json.loads((CHART / "values.schema.json").read_text())
    services = schema["properties"]["services"]["properties"]
    assert list(services) == list(MANIFEST.names)
    for service in MANIFEST.services:
        definition = schema["definitions"][services[service.name]["$ref"].rsplit("/", 1)[1]]
        allowed = [kind for kind in COMPONENTS if kind in definition["properties"]]
        assert set(service.kinds) <= set(allowed), service.name
        assert ("api" in allowed) == ("api" in service.kinds), service.name


def test_pytest_ruff_and_mypy_know_every_service():
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]
    testpaths = tool["pytest"]["ini_options"]["testpaths"]
    tested = {path.split("/")[1] for path in testpaths if path.startswith("services/")}
    assert tested == set(MANIFEST.names)
    for service in MANIFEST.names:
        assert {f"services/{service}/tests/unit", f"services/{service}/tests/integration"} <= set(testpaths)
    assert set(MANIFEST.names) <= set(tool["ruff"]["lint"]["isort"]["known-first-party"])
    # mypy follows a service's imports of another only through its folder on mypy_path (`make lint` checks
    # every manifest service's package).
    on_path = {path.removeprefix("$MYPY_CONFIG_FILE_DIR/") for path in tool["mypy"]["mypy_path"]}
    assert {f"services/{service}" for service in MANIFEST.names} <= on_path


def test_the_readme_configuration_table_gives_the_manifest_ports():
    readme = (ROOT / "README.md").read_text()

    def row(variable: str) -> dict[str, int]:
        line = next(line for line in readme.splitlines() if line.startswith(f"| `{variable}` |"))
        return {name: int(port) for name, port in re.findall(r"([a-z]+(?: [a-z]+)?) `(\d+)`", line.split("|")[2])}

    health = {p.service if p.kind == "worker" else f"{p.service} {p.kind}": p.port
              for p in MANIFEST.processes(stand_ins=False) if p.kind != "api"}
    assert row("HEALTH_PORT") == health
    assert row("HTTP_PORT") == {p.service: p.port for p in MANIFEST.processes(stand_ins=False) if p.kind == "api"}


def test_every_declared_process_is_a_command_of_its_service():
    # Read statically: importing a service's __main__ would run it.
    for service in MANIFEST.services:
        main = (ROOT / "services" / service.name / service.name / "__main__.py").read_text()
        for kind in ("api", "stream"):
            assert (f"\n    {kind}=" in main) == (kind in service.kinds), f"{service.name}: {kind}"
        consumers = main.split("consumers=", 1)[1].split("\n", 1)[0] if "consumers=" in main else ""
        assert ('"charging":' in consumers) == ("charging" in service.kinds), f"{service.name}: charging"
        for stand_in in service.stand_ins:
            assert f'"{stand_in.kind}":' in main, f"{service.name}: {stand_in.kind}"
