"""The catalog worker: thin RPC methods over the use cases (arguments and results are camelCase wire data)."""
from __future__ import annotations

from typing import Any

from catalog.adapters.documents import ALL_DOCUMENTS
from catalog.service_layer import config, offerings, promotions
from chassis.mongo import ensure_indexes
from chassis.nameko_adapter import MongoConnection, WorkerBase, rpc


class CatalogService(WorkerBase):
    name = "catalog"
    db = MongoConnection(lambda: ensure_indexes(ALL_DOCUMENTS))

    # -- reads the other services use (contracts/rpc/catalog.md) --------------------------
    @rpc
    def list_customer_types(self) -> list[dict[str, Any]]:
        return config.list_customer_types()

    @rpc
    def get_customer_type(self, code: str) -> dict[str, Any]:
        return config.get_customer_type(code)

    @rpc
    def list_custom_attributes(self, entity: str) -> list[dict[str, Any]]:
        return config.list_custom_attributes(entity)

    @rpc
    def validate_custom_attributes(self, entity: str, values: dict[str, Any]) -> dict[str, Any]:
        return config.validate_custom_attributes(entity, values)

    @rpc
    def get_resource(self, code: str) -> dict[str, Any]:
        return config.get_resource(code)

    @rpc
    def get_plan(self, code: str, version: int | None = None) -> dict[str, Any]:
        return offerings.get_plan(code, version)

    @rpc
    def get_bundle(self, code: str, version: int | None = None) -> dict[str, Any]:
        return offerings.get_bundle(code, version)

    @rpc
    def get_product(self, code: str, version: int | None = None) -> dict[str, Any]:
        return offerings.get_product(code, version)

    @rpc
    def rate(self, service_type: str, fields: dict[str, Any], product: str | None = None, version: int | None = None,
             at: str | None = None, quantity: str | None = None) -> dict[str, Any]:
        return offerings.rate(service_type, fields, product, version, at, quantity)

    @rpc
    def resolve_promotion(self, code: str) -> dict[str, Any]:
        return promotions.resolve_promotion(code)

    @rpc
    def redeem_voucher(self, code: str, customer_id: int, subscription_id: str) -> dict[str, Any]:
        return promotions.redeem_voucher(code, customer_id, subscription_id)

    @rpc
    def release_voucher(self, code: str, subscription_id: str) -> dict[str, Any]:
        return promotions.release_voucher(code, subscription_id)

    # -- operator configuration (the gateway's /api/v1/catalog) ----------------------------
    @rpc
    def create_entry(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return config.create(kind, payload)

    @rpc
    def update_entry(self, kind: str, key: str, patch: dict[str, Any]) -> dict[str, Any]:
        return config.update(kind, key, patch)

    @rpc
    def get_entry(self, kind: str, key: str) -> dict[str, Any]:
        return config.get(kind, key)

    @rpc
    def list_entries(self, kind: str, offset: int = 0, limit: int = 100,
                     filters: dict[str, Any] | None = None) -> dict[str, Any]:
        return config.listing(kind, offset, limit, filters)

    @rpc
    def create_offering(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        return offerings.create(kind, payload)

    @rpc
    def new_version(self, kind: str, code: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
        return offerings.new_version(kind, code, payload)

    @rpc
    def update_offering(self, kind: str, code: str, version: int, payload: dict[str, Any]) -> dict[str, Any]:
        return offerings.update(kind, code, version, payload)

    @rpc
    def delete_offering(self, kind: str, code: str, version: int) -> None:
        offerings.delete_draft(kind, code, version)

    @rpc
    def publish(self, kind: str, code: str, version: int) -> dict[str, Any]:
        return offerings.publish(kind, code, version)

    @rpc
    def retire(self, kind: str, code: str, version: int) -> dict[str, Any]:
        return offerings.retire(kind, code, version)

    @rpc
    def get_offering(self, kind: str, code: str, version: int | None = None) -> dict[str, Any]:
        return offerings.get(kind, code, version)

    @rpc
    def list_offerings(self, kind: str, offset: int = 0, limit: int = 100,
                       filters: dict[str, Any] | None = None) -> dict[str, Any]:
        return offerings.listing(kind, offset, limit, filters)

    @rpc
    def create_voucher_batch(self, payload: dict[str, Any]) -> dict[str, Any]:
        return promotions.create_voucher_batch(payload)

    @rpc
    def get_voucher_batch(self, batch_id: int) -> dict[str, Any]:
        return promotions.get_voucher_batch(batch_id)

    @rpc
    def list_voucher_batches(self, offset: int = 0, limit: int = 100) -> dict[str, Any]:
        return promotions.list_voucher_batches(offset, limit)

    @rpc
    def list_vouchers(self, batch_id: int, offset: int = 0, limit: int = 100,
                      redeemed: bool | None = None) -> dict[str, Any]:
        return promotions.list_vouchers(batch_id, offset, limit, redeemed)

    @rpc
    def get_voucher(self, code: str) -> dict[str, Any]:
        return promotions.get_voucher(code)
