"""/api/v1/jobs: the long jobs of every service. A job id starts with its service's name, so one job is
read from its service; a list without `service` asks every service at once (decision 0011)."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from chassis.errors import NotFound, Unavailable
from chassis.http import json_response
from chassis.settings import SERVICES
from gateway import dependencies


def get_job(job_id: str) -> tuple[Any, int, dict[str, str]]:
    service = job_id.partition("-")[0]
    if service not in SERVICES:
        raise NotFound(f"job {job_id} does not exist")
    return json_response(dependencies.rpc.call(service, "get_job", job_id))


def list_jobs(service: str | None = None, kind: str | None = None, status: str | None = None,
              offset: int = 0, limit: int = 50) -> tuple[Any, int, dict[str, str]]:
    services = [service] if service else list(SERVICES)

    def page(name: str) -> dict[str, Any] | None:
        try:  # each service's newest offset+limit jobs hold the merged page
            return dependencies.rpc.call(name, "list_jobs", kind, status, 0, offset + limit)
        except Unavailable:
            if service:
                raise
            return None

    with ThreadPoolExecutor(max_workers=len(services)) as pool:
        pages = dict(zip(services, pool.map(page, services), strict=True))
    answered = [p for p in pages.values() if p is not None]
    merged = sorted((job for p in answered for job in p["items"]), key=lambda j: (j["createdAt"], j["id"]),
                    reverse=True)[offset:offset + limit]
    headers = {"X-Total-Count": str(sum(p["total"] for p in answered)), "X-Result-Count": str(len(merged))}
    missing = [name for name, p in pages.items() if p is None]
    if missing:
        headers["X-Unavailable-Services"] = ",".join(missing)
    return json_response(merged, 200, headers)
