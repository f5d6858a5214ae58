"""The console's form rules (no I/O): inputs named with API field paths become the request body."""
from gateway.console import forms
from gateway.console.formatting import locale_for, money


def test_dotted_inputs_become_nested_objects_and_numbered_ones_lists():
    body = forms.unflatten([("account.firstName", " Ana "), ("subscription.plan.products.0.code", "FEE"),
                            ("subscription.plan.products.1.code", "SIM"), ("subscription.billingDay", "15"),
                            ("subscription.promoCodes", "WELCOME5, DATA-1"), ("csrf_token", "x"),
                            ("_owner.sharing", "Ana")])
    assert body == {"account": {"firstName": "Ana"},
                    "subscription": {"plan": {"products": [{"code": "FEE"}, {"code": "SIM"}]}, "billingDay": 15,
                                     "promoCodes": ["WELCOME5", "DATA-1"]}}


def test_empty_inputs_are_left_out_so_the_api_applies_its_defaults():
    assert forms.unflatten([("account.zip", ""), ("account.city", "Maribor")]) == {"account": {"city": "Maribor"}}


def test_only_the_chosen_payment_methods_fields_are_sent():
    body = forms.onboarding_body([("paymentInfo.method", "directDebit"), ("paymentInfo.directDebit.iban", "DE89"),
                                  ("paymentInfo.creditCard.holderName", "Ana"),
                                  ("paymentInfo.billingAddress.city", "Celje")], {})
    assert body["paymentInfo"] == {"method": "directDebit", "directDebit": {"iban": "DE89"}}


def test_an_optional_product_is_bought_only_when_purchase_is_ticked():
    rows = [("subscription.plan.products.0.code", "SIM"), ("subscription.plan.products.0.optional", "true"),
            ("subscription.plan.products.1.code", "LOYALTY"), ("subscription.plan.products.1.optional", "true"),
            ("subscription.plan.products.1.purchase", "true"), ("subscription.plan.products.1.validity.unit", "month"),
            ("subscription.plan.products.1.validity.count", "2")]
    products = forms.onboarding_body(rows, {})["subscription"]["plan"]["products"]
    assert products == [{"code": "SIM", "purchase": False},
                        {"code": "LOYALTY", "purchase": True, "validity": {"unit": "month", "count": 2}}]


def test_custom_attributes_keep_their_catalog_type():
    body = forms.onboarding_body([("account.customAttributes.vip", "true"), ("account.customAttributes.seats", "4")],
                                 {"vip": "boolean", "seats": "integer"})
    assert body["account"]["customAttributes"] == {"vip": True, "seats": 4}


def test_money_is_shown_in_the_customers_currency_and_locale():
    assert locale_for("SI") == "sl_SI"
    assert money("19.99", "EUR", "SI") == "19,99\xa0€"
    assert money("5120", "MB", "SI") == "5.120 MB"
