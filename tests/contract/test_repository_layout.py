"""The shape every service keeps (docs/adding-a-service.md), and the Procfile that runs them."""
from pathlib import Path

import pytest

from chassis.localinfra import LOCAL_STAND_INS, SERVICE_PROCESSES

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", sorted(SERVICE_PROCESSES))
def test_each_service_is_a_package_with_its_docs_tests_and_image(service):
    folder = ROOT / "services" / service
    for required in ("pyproject.toml", "README.md", "Dockerfile", "tests/unit", "tests/integration",
                     f"{service}/__main__.py", f"{service}/entrypoints/worker.py",
                     f"{service}/adapters/documents.py", f"{service}/domain", f"{service}/service_layer"):
        assert (folder / required).exists(), f"services/{service}/{required}"
    assert any((folder / "tests/unit").glob("test_*.py")) and any((folder / "tests/integration").glob("test_*.py"))


def test_the_procfile_runs_every_process_of_every_service():
    lines = [line for line in (ROOT / "Procfile").read_text().splitlines() if line and not line.startswith("#")]
    commands = {line.split(":", 1)[1].strip() for line in lines}
    expected = {f"python -m {service} {kind}" for service, kinds in SERVICE_PROCESSES.items() for kind in kinds}
    stand_ins = {f"python -m {service} {command}" for service, commands in LOCAL_STAND_INS.items()
                 for command in commands}
    assert commands == expected | stand_ins


def test_nothing_but_the_adapter_imports_nameko():
    offenders = [str(p.relative_to(ROOT)) for folder in ("libs", "services") for p in (ROOT / folder).rglob("*.py")
                 if "tests" not in p.parts and p.name != "nameko_adapter.py"
                 and any(line.lstrip().startswith(("import nameko", "from nameko"))
                         for line in p.read_text().splitlines())]
    assert offenders == []
