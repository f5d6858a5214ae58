from customer import views

IBAN = "DE89370400440532013000"
DEBIT = {"method": "directDebit", "directDebit": {"mandateId": "M-1", "signedOn": "2024-01-02",
                                                  "bic": "COBADEFFXXX", "iban": IBAN}}


def test_text_filters_match_a_case_insensitive_substring_in_any_combination(seed):
    ann = seed()
    seed(firstName="Bob", lastName="Miller", email="bob@example.org", city="Munich")
    seed(firstName="Cleo", lastName="Smithson", email="cleo@example.com", city="Hamburg", country="AT")
    assert [r["id"] for r in views.search_customers({"name": "SMITH"})["items"]] == [ann, ann + 2]
    assert [r["name"] for r in views.search_customers({"name": "mith", "city": "berl"})["items"]] == ["Ann Smith"]
    assert views.search_customers({"email": "example.org"})["total"] == 1
    assert views.search_customers({"address": "main str", "country": "at"})["total"] == 1
    assert views.search_customers({"name": "mi"})["total"] == 3
    assert views.search_customers({"name": "nobody"}) == {"items": [], "total": 0}


def test_exact_filters_select_by_status_type_and_payment_method(seed, customer_db):
    seed()
    business = seed(customerType="business", paymentInfo=DEBIT)
    closed = seed()
    customer_db.customers.update_one({"_id": closed}, {"$set": {"status": "closed"}})
    assert views.search_customers({})["total"] == 2  # closed accounts only when asked for
    assert [r["id"] for r in views.search_customers({"status": "closed"})["items"]] == [closed]
    assert [r["id"] for r in views.search_customers({"customerType": "business"})["items"]] == [business]
    rows = views.search_customers({"paymentMethod": "directDebit"})["items"]
    assert [r["id"] for r in rows] == [business]
    assert rows[0]["iban"] == "DE****************3000"  # masked in lists


def test_pages_follow_offset_and_limit_with_the_total(seed):
    ids = [seed(email=f"p{i}@example.com") for i in range(7)]
    page = views.search_customers({}, offset=5, limit=5)
    assert page["total"] == 7
    assert [r["id"] for r in page["items"]] == ids[5:]
    assert views.search_customers({}, offset=10, limit=5)["items"] == []


def test_rows_show_the_name_and_the_subscription_and_service_counts(seed, customer_db):
    cid = seed()
    customer_db.customers.update_one({"_id": cid}, {"$set": {"subscription_count": 2, "service_count": 3}})
    row = views.search_customers({})["items"][0]
    assert (row["name"], row["subscriptionCount"], row["serviceCount"]) == ("Ann Smith", 2, 3)


def test_export_pages_by_customer_number_until_the_filtered_list_ends(seed):
    ids = [seed(lastName="Export") for _ in range(5)]
    seed(lastName="Other")
    first = views.export_page({"name": "export"}, 0, 2)
    assert [row[0] for row in first["rows"]] == ids[:2]
    assert first["rows"][0] == [ids[0], "Ann Export", "ann.smith@example.com", 0, 0]
    second = views.export_page({"name": "export"}, first["nextAfterId"], 2)
    last = views.export_page({"name": "export"}, second["nextAfterId"], 2)
    assert [row[0] for row in second["rows"] + last["rows"]] == ids[2:]
    assert last["nextAfterId"] is None


def test_bad_filters_and_paging_name_the_field(seed):
    import pytest

    from chassis.errors import ValidationFailed

    with pytest.raises(ValidationFailed) as caught:
        views.search_customers({"country": "XX"})
    assert "country" in caught.value.fields
    with pytest.raises(ValidationFailed) as caught:
        views.search_customers({}, 0, 5000)
    assert "limit" in caught.value.fields
