from catalog.service_layer import config, demo, offerings, promotions


def test_the_demo_catalog_loads_into_an_empty_catalog_and_sells_a_mobile_plan(catalog_db):
    assert demo.is_empty()
    assert "loaded" in demo.load_demo()

    plan = offerings.get_plan("MOBILE-S")
    assert plan["status"] == "active" and plan["paymentTypes"] == ["postpaid", "prepaid"]
    products = {p["code"]: p for b in plan["bundles"] for p in b["products"]}
    assert products["VOICE-MIN"]["freeUnits"] == "100" and products["VOICE-MIN"]["resource"] == "MIN"
    assert products["MOBILE-FEE"]["defaultValue"] == "19.99" and products["MOBILE-FEE"]["type"] == "recurring_fee"
    assert plan["addOns"] == [{"code": "DATA-5GB", "version": 1}]
    assert offerings.get_bundle("DATA-5GB")["addOn"] is True
    assert config.get_resource("EUR") == {"code": "EUR", "name": "Euro", "kind": "monetary", "currency": "EUR",
                                          "minorUnits": 2, "consumptionOrder": ["earliestExpiry", "priority", "oldest"]}
    assert promotions.resolve_promotion("WELCOME5")["discount"]["code"] == "WELCOME-5"
    profile = config.get("credit_profile", "STANDARD")
    assert [t["value"] for t in profile["limits"][0]["thresholds"]] == ["80", "100"]
    assert config.get("sharing_policy", "FAMILY")["onExhausted"] == "fallback"
    assert config.get("tax", "VAT")["rate"] == "19"
    assert {t["code"] for t in config.list_customer_types()} == {"regular", "commercial"}
    assert len(promotions.list_vouchers(1)["items"]) == 10
    # Every publish went to the outbox with its state change.
    assert catalog_db.outbox.count_documents({"type": "catalog.plan_published"}) == 1


def test_loading_the_demo_twice_changes_nothing_the_second_time(demo_catalog):
    before = {name: demo_catalog[name].count_documents({}) for name in demo_catalog.list_collection_names()}
    assert "not empty" in demo.load_demo()
    after = {name: demo_catalog[name].count_documents({}) for name in demo_catalog.list_collection_names()}
    assert after == before
