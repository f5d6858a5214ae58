"""The catalog's main lists, read-only (so an operator sees plans, bundles and products while onboarding)."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.console.web import Page, route

LISTS = {"plans": "Plans", "bundles": "Bundles", "products": "Products"}
STATUSES = ("active", "draft", "retired")


@route("/catalog/{kind:str}")
async def catalog_list(request: Request, page: Page) -> Response:
    kind = request.path_params["kind"]
    if kind not in LISTS:
        return page.render("error.html", 404, title="Not found", detail=f"No catalog list {kind!r}.")
    status = request.query_params.get("status", "active")
    rows, total = await page.api.page(f"/api/v1/catalog/{kind}", status=status if status in STATUSES else None,
                                      limit=1000)
    return page.render("catalog/list.html", section="catalog", kind=kind, lists=LISTS, rows=rows, total=total,
                       shown_status=status, statuses=STATUSES)


@route("/catalog/{kind:str}/{code:str}")
async def offer(request: Request, page: Page) -> Response:
    """A plan or bundle as sold: its bundles and products."""
    kind, code = request.path_params["kind"], request.path_params["code"]
    if kind not in ("plans", "bundles"):
        return page.render("error.html", 404, title="Not found", detail="Only plans and bundles have offers.")
    found = await page.api.get(f"/api/v1/catalog/{kind}/{code}/offer")
    bundles = found.get("bundles") or [found]
    return page.render("catalog/offer.html", section="catalog", kind=kind, lists=LISTS, offer=found, bundles=bundles)
