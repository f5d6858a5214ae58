"""The container images, checked statically (no Docker engine on these machines): one multi-stage
Dockerfile per service that builds wheels of libs/chassis, the shared libraries the service depends on
(libs/pricing) and that service only, a pinned slim Python
base, a non-root numeric user matching the chart, the contracts in /app/contracts, a urllib
HEALTHCHECK; and a .dockerignore that keeps caches, secrets and other trees out of the context."""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from chassis import manifest

REPO_ROOT = Path(__file__).resolve().parents[2]
MANIFEST = manifest.load()  # contracts/services.toml: the services and their processes
SERVICES = list(MANIFEST.names)
API_PORTS = MANIFEST.ports("api")
VALUES = yaml.safe_load((REPO_ROOT / "deploy/helm/monetization/values.yaml").read_text())


def parse(text: str) -> list[tuple[str, str]]:
    """Dockerfile instructions as (INSTRUCTION, arguments), continuations joined, comments dropped."""
    instructions, current = [], ""
    for raw in text.splitlines():
        line = raw.strip()
        if not current and (not line or line.startswith("#")):
            continue
        if current and line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def stages(instructions: list[tuple[str, str]]) -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for keyword, args in instructions:
        if keyword == "FROM":
            out.append([])
        if out:
            out[-1].append((keyword, args))
    return out


@pytest.fixture(params=SERVICES)
def service(request) -> str:
    return request.param


@pytest.fixture
def dockerfile(service: str) -> list[tuple[str, str]]:
    path = REPO_ROOT / "services" / service / "Dockerfile"
    assert path.is_file(), f"missing {path}"
    return parse(path.read_text())


def test_base_image_is_a_pinned_slim_python_311(dockerfile) -> None:
    args = dict(a.split("=", 1) for k, a in dockerfile if k == "ARG" and "=" in a)
    base = args["PYTHON_IMAGE"]
    assert re.fullmatch(r"python:3\.11\.\d+-slim(-bookworm|-trixie)?", base), base
    froms = [a for k, a in dockerfile if k == "FROM"]
    assert len(froms) >= 2, "multi-stage"
    for line in froms:
        image = line.split()[0]
        assert image in ("${PYTHON_IMAGE}", base), line
        assert "latest" not in line


def shared_libraries(service: str) -> list[str]:
    """The libs/ packages besides the chassis that the service's pyproject depends on."""
    project = (REPO_ROOT / "services" / service / "pyproject.toml").read_text()
    return [lib for lib in ("pricing",) if f'"monetization-{lib}"' in project]


def test_builder_builds_only_the_chassis_its_libraries_and_this_service(service, dockerfile) -> None:
    builder = stages(dockerfile)[0]
    libs = shared_libraries(service)
    copied = [shlex.split(a)[0] for k, a in builder if k == "COPY"]
    assert copied == ["constraints.txt", "libs/chassis/", *(f"libs/{lib}/" for lib in libs), f"services/{service}/"]
    assert not [a for k, a in dockerfile if k == "ADD"]
    wheel = [shlex.split(a) for k, a in builder if k == "RUN" and "pip wheel" in a]
    assert len(wheel) == 1
    argv = wheel[0]
    assert argv[argv.index("-c") + 1] == "constraints.txt", "pinned dependencies"
    sources = [a for a in argv if a.startswith("./")]
    chassis = "./libs/chassis[http]" if service in API_PORTS else "./libs/chassis"
    assert sources == [chassis, *(f"./libs/{lib}" for lib in libs), f"./services/{service}"]
    for other in set(SERVICES) - {service}:
        assert f"services/{other}" not in " ".join(a for _, a in dockerfile)


def test_runtime_installs_the_wheels_and_runs_as_non_root(service, dockerfile) -> None:
    runtime = stages(dockerfile)[-1]
    keywords = [k for k, _ in runtime]
    copies = [a for k, a in runtime if k == "COPY"]
    assert any(c.startswith("--from=builder /wheels") for c in copies)
    assert "contracts/ /app/contracts/" in copies
    installs = [a for k, a in runtime if k == "RUN" and "pip install" in a]
    assert len(installs) == 1 and "--no-index" in installs[0], "nothing but the built wheels"
    env = " ".join(a for k, a in runtime if k == "ENV")
    assert "CONTRACTS_DIR=/app/contracts" in env
    assert "HTTP_HOST=0.0.0.0" in env, "the chassis binds 127.0.0.1 unless told otherwise"
    assert f"SERVICE_NAME={service}" in env
    users = [a for k, a in runtime if k == "USER"]
    assert len(users) == 1
    uid, _, gid = users[0].partition(":")
    assert uid.isdigit() and int(uid) > 0 and gid.isdigit() and int(gid) > 0, "numeric non-root user"
    assert int(uid) == VALUES["podSecurityContext"]["runAsUser"], "same uid as the chart"
    assert keywords.index("USER") > max(i for i, k in enumerate(keywords) if k == "RUN"), \
        "nothing runs as root after USER"
    assert f"--uid {uid}" in " ".join(a for k, a in runtime if k == "RUN")


def test_healthcheck_uses_python_urllib(dockerfile) -> None:
    checks = [a for k, a in dockerfile if k == "HEALTHCHECK"]
    assert len(checks) == 1
    check = checks[0]
    assert "CMD" in check and "urllib.request" in check and "/health/live" in check
    assert "HEALTH_PORT" in check and "HTTP_PORT" in check
    assert "curl" not in check and "wget" not in check, "the slim image has neither"


def test_entrypoint_runs_the_service_and_ports_match_the_chart(service, dockerfile) -> None:
    instructions = dict(dockerfile)
    assert instructions["ENTRYPOINT"] == f'["python", "-m", "{service}"]'
    assert instructions["CMD"] == '["worker"]'
    exposed = {int(p) for p in instructions["EXPOSE"].split()}
    expected = {VALUES["defaults"]["worker"]["healthPort"]}
    if service in API_PORTS:
        expected.add(VALUES["services"][service]["api"]["port"])
        assert API_PORTS[service] in expected
    assert exposed == expected


def test_parser_sees_a_root_user() -> None:
    # Proves the checks above can fail: a Dockerfile that switches back to root is caught.
    bad = parse("FROM python:3.11.13-slim AS a\nFROM python:3.11.13-slim\nUSER 10001\nRUN id\nUSER root\n")
    users = [a for k, a in stages(bad)[-1] if k == "USER"]
    assert users == ["10001", "root"] and not users[-1].partition(":")[0].isdigit()


# ---------------------------------------------------------------- .dockerignore

def _pattern(pattern: str) -> re.Pattern[str]:
    out, i = "", 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        elif pattern[i] == "[":
            end = pattern.index("]", i)
            out, i = out + pattern[i:end + 1], end + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out + "$")


def ignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: a pattern matching a path or any of its parent directories excludes it;
    the last matching pattern wins, `!` re-includes."""
    parts = path.split("/")
    prefixes = ["/".join(parts[:n]) for n in range(1, len(parts) + 1)]
    verdict = False
    for raw in patterns:
        negate = raw.startswith("!")
        regex = _pattern(raw.lstrip("!").strip("/"))
        if any(regex.match(prefix) for prefix in prefixes):
            verdict = not negate
    return verdict


DOCKERIGNORE = [line.strip() for line in (REPO_ROOT / ".dockerignore").read_text().splitlines()
                if line.strip() and not line.strip().startswith("#")]


@pytest.mark.parametrize("path", [
    "constraints.txt", "libs/chassis/pyproject.toml", "libs/chassis/chassis/__init__.py",
    "services/customer/pyproject.toml", "services/customer/customer/__main__.py",
    "services/gateway/gateway/api/app.py", "contracts/http/gateway.yaml", "contracts/events/x.v1.json",
])
def test_dockerignore_keeps_what_the_images_need(path: str) -> None:
    assert not ignored(path, DOCKERIGNORE)


@pytest.mark.parametrize("path", [
    ".git/config", ".venv/bin/python", "services/customer/.venv/lib/x.py", ".env", "services/billing/.env.local",
    "services/customer/customer/__pycache__/a.cpython-311.pyc", "libs/chassis/chassis/x.pyc",
    "services/customer/tests/unit/test_account.py", "libs/chassis/tests/integration/test_x.py",
    "tests/deploy/test_dockerfiles.py", "deploy/helm/monetization/values.yaml", "docs/operations.md",
    "services/rating/monetization_rating.egg-info/PKG-INFO", ".pytest_cache/v/x", "node_modules/a/b.js",
])
def test_dockerignore_keeps_junk_and_secrets_out(path: str) -> None:
    assert ignored(path, DOCKERIGNORE)


def test_every_image_follows_the_same_recipe_so_the_copies_cannot_drift() -> None:
    """One Dockerfile per service is required; they must stay one recipe with the service's name in it."""
    import re

    def recipe(service: str) -> str:
        text = (REPO_ROOT / "services" / service / "Dockerfile").read_text().replace(service, "SVC")
        # System libraries are the one allowed difference (billing: Pango for WeasyPrint's invoice PDFs).
        text = re.sub(r"RUN apt-get update \\\n(?: && .*\\\n)* && rm -rf /var/lib/apt/lists/\*\n", "", text)
        lines = [line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
        normalised = "\n".join(lines)
        normalised = normalised.replace('"./libs/chassis[http]"', "./libs/chassis")  # API images add the HTTP extra
        for lib in shared_libraries(service):  # and services list the shared libraries they use
            normalised = normalised.replace(f"COPY libs/{lib}/ libs/{lib}/\n", "").replace(f" ./libs/{lib}", "")
        return re.sub(r"EXPOSE [\d ]+", "EXPOSE ports", normalised)

    services = sorted(p.parent.name for p in (REPO_ROOT / "services").glob("*/Dockerfile"))
    assert len(services) == 7
    recipes = {service: recipe(service) for service in services}
    assert len(set(recipes.values())) == 1, "Dockerfiles differ beyond name, HTTP extra, shared libraries and ports"
