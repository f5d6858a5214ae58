"""`python -m rating charging`: real-time charging (reserve, commit, release) over RPC, in batches.

Callers call the RPC service `rating_charging` (`RpcClient.call("rating_charging", "reserve", payload)`) with the
same methods and answers the rating worker has (decision 0407). Requests that arrive while a batch is being
handled form the next batch; its commits, releases and reserves are applied in one transaction (group commit,
decision 0409), then every reply is sent and the batch acknowledged. A crash before the ack
redelivers the requests; reserve is idempotent on the reservation id and a commit or release of a settled
reservation answers what the first one did, so a redelivered request changes nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from chassis import rpc_contracts
from chassis.errors import PlatformError, ValidationFailed
from chassis.mongo import transaction
from chassis.nameko_adapter import method_not_found
from chassis.rpc_batch import RpcRequest
from chassis.settings import Settings
from chassis.stream import serve
from rating import bootstrap, config
from rating.adapters.catalog import CatalogCache
from rating.adapters.inventory_cache import InventoryCache
from rating.adapters.reservation_cache import ReservationCache
from rating.service_layer import charging

RESERVE = "reserve"
SERVICE = bootstrap.CHARGING_TOPOLOGY.service


def _reserve(payload: Any) -> tuple[str, Any]:
    return RESERVE, payload


def _commit(reservation_id: Any, payload: Any) -> tuple[str, str, Any]:
    return charging.COMMIT, _identifier(reservation_id), payload


def _release(reservation_id: Any) -> tuple[str, str, None]:
    return charging.RELEASE, _identifier(reservation_id), None


def _identifier(value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ValidationFailed("not a reservation id", {"reservationId": "must be a non-empty string"})
    return value


# The RPC methods, with the rating worker's signatures: a call binds to one of these or is refused.
METHODS: dict[str, Callable[..., tuple[Any, ...]]] = {
    "reserve": _reserve, "commit_reservation": _commit, "release_reservation": _release}


def batch_handler(catalog: CatalogCache, lateness: timedelta, inventory: InventoryCache | None = None,
                  reservations: ReservationCache | None = None, transact: charging.Transact = transaction
                  ) -> Callable[[Sequence[RpcRequest]], list[Any]]:
    def handle(requests: Sequence[RpcRequest]) -> list[Any]:
        answers: list[Any] = [None] * len(requests)
        reserves: list[tuple[int, Any]] = []
        settles: list[tuple[int, tuple[str, str, Any]]] = []
        for index, request in enumerate(requests):
            if request.problem is not None:
                answers[index] = request.problem
                continue
            method = METHODS.get(request.method)
            if method is None:
                answers[index] = method_not_found(request.method)
                continue
            try:  # the call as contracts/rpc/rating_charging.yaml declares it, as nameko workers check theirs
                rpc_contracts.method(SERVICE, request.method).check_arguments(method, request.args, request.kwargs)
                call = method(*request.args, **request.kwargs)
            except PlatformError as error:
                answers[index] = error
                continue
            if call[0] == RESERVE:
                reserves.append((index, call[1]))
            else:
                settles.append((index, call))
        # One transaction for the whole batch (decision 0409): its reads, its book and its writes are shared.
        reserved, settled = charging.charge_many([p for _, p in reserves], [c for _, c in settles], catalog,
                                                 lateness, inventory, reservations, transact)
        for (index, _), answer in zip(reserves + settles, reserved + settled, strict=True):
            answers[index] = answer
        if rpc_contracts.check_results():
            for request, answer in zip(requests, answers, strict=True):
                if request.method in METHODS and not isinstance(answer, BaseException):
                    rpc_contracts.method(SERVICE, request.method).check_result(answer)
        return answers

    return handle


def run(settings: Settings) -> None:
    # Services and subscriptions from the cache rating's own events keep current, as the stream does (0409).
    with bootstrap.hot_path_reads(settings) as (catalog, inventory), \
            bootstrap.charging_transactions(settings) as transact:
        handler = batch_handler(catalog, config.lateness_window(settings), inventory,
                                bootstrap.reservations(settings), transact)
        serve(settings, bootstrap.charging_server(settings, handler))
