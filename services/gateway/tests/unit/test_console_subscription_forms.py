"""The subscriptions, balances and usage forms of the console <-> API bodies (no I/O)."""
from gateway.console import forms
from gateway.console.subscription_forms import digest, event_body, input_errors, usage_cell

TZ = "Europe/Ljubljana"


def test_an_error_on_one_code_of_a_list_is_shown_at_the_lists_input():
    errors = input_errors({"promoCodes.1": "does not exist", "plan.products.2.validity.count": "must be >= 1",
                           "plan.products.2.validity.unit": "is not a unit", "balanceGroupId": "unknown"})
    assert errors == {"promoCodes": "does not exist", "plan.products.2.validity": "must be >= 1; is not a unit",
                      "balanceGroupId": "unknown"}


def test_product_rows_become_choices_and_codes_a_list():
    rows = [{"code": "SIM", "optional": "true", "quantity": "2"}, {"code": ""}, {"code": "FEE", "value": "15.00"}]
    assert forms.product_choices(rows) == [{"code": "SIM", "quantity": "2", "purchase": False},
                                           {"code": "FEE", "value": "15.00"}]
    assert forms.codes(" DATA-1, DATA-2;DATA-3  ") == ["DATA-1", "DATA-2", "DATA-3"]
    assert forms.codes(None) == []


def test_a_created_events_fields_take_their_service_types_types_and_empty_ones_are_left_out():
    values = {"serviceId": "s-1", "startTime": "2026-07-01T10:30:00", "quantity": " 12 ", "fields.zone": "home",
              "fields.endTime": "2026-07-01T10:45:00", "fields.attempts": "3", "fields.roaming": "false",
              "fields.apn": ""}
    kinds = {"zone": "enum", "endTime": "datetime", "attempts": "integer", "roaming": "boolean", "apn": "string"}
    assert event_body(values, kinds, TZ) == {
        "serviceId": "s-1", "startTime": "2026-07-01T10:30:00+02:00", "quantity": "12",
        "fields": {"zone": "home", "endTime": "2026-07-01T10:45:00+02:00", "attempts": 3, "roaming": False}}
    assert "fields" not in event_body({"serviceId": "s-1", "startTime": "2026-07-01T10:30:00"}, kinds, TZ)


def test_usage_cells_show_the_fields_instants_in_the_operators_zone_and_the_amount_in_its_currency():
    event = {"eventId": "e-1", "createdAt": "2026-07-01T08:31:00+00:00", "amount": "8.8", "currency": "EUR",
             "fields": {"startTime": "2026-07-01T08:30:00+00:00", "zone": "home"}}
    types = {"startTime": "datetime", "zone": "enum"}
    cells = [usage_cell(event, name, types, TZ, "SI") for name in ("eventId", "createdAt", "startTime", "zone",
                                                                     "apn", "amount")]
    assert cells == ["e-1", "2026-07-01 10:31 +0200", "2026-07-01 10:30 +0200", "home", "", "8,80\xa0€"]
    assert usage_cell({**event, "amount": None}, "amount", types, TZ, "SI") == "—", "a rejected event has none"


def test_a_preview_digest_changes_with_any_choice():
    body = {"plan": {"code": "MOBILE-L", "products": [{"code": "FEE", "value": "29.99"}]}}
    assert digest(body) == digest({"plan": {"products": [{"value": "29.99", "code": "FEE"}], "code": "MOBILE-L"}})
    assert digest(body) != digest({"plan": {"code": "MOBILE-L", "products": [{"code": "FEE", "value": "30"}]}})
