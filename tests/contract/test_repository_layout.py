"""The shape every service keeps (docs/adding-a-service.md); the Procfile is checked in test_service_manifest."""
from pathlib import Path

import pytest

from chassis import manifest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", manifest.load().names)
def test_each_service_is_a_package_with_its_docs_tests_and_image(service):
    folder = ROOT / "services" / service
    for required in ("pyproject.toml", "README.md", "Dockerfile", "tests/unit", "tests/integration",
                     f"{service}/__main__.py", f"{service}/entrypoints/worker.py",
                     f"{service}/adapters/documents.py", f"{service}/domain", f"{service}/service_layer"):
        assert (folder / required).exists(), f"services/{service}/{required}"
    assert any((folder / "tests/unit").glob("test_*.py")) and any((folder / "tests/integration").glob("test_*.py"))


def test_nothing_but_the_adapter_imports_nameko():
    offenders = [str(p.relative_to(ROOT)) for folder in ("libs", "services") for p in (ROOT / folder).rglob("*.py")
                 if "tests" not in p.parts and p.name != "nameko_adapter.py"
                 and any(line.lstrip().startswith(("import nameko", "from nameko"))
                         for line in p.read_text().splitlines())]
    assert offenders == []
