from datetime import UTC, datetime, timedelta
from decimal import Decimal

from rating.domain.charges import ChargeSums, charge_head

START = datetime(2026, 11, 30, 8, 0, tzinfo=UTC)


def head(service_id="svc-1"):
    return charge_head("bp-1", 7, 3, "bg-1", service_id, "38640111222", "data", "MB", "EUR")


def test_charges_of_one_service_and_cycle_become_one_usage_charged_with_their_sums_and_time_span():
    sums = ChargeSums()
    heads = []

    def made():
        heads.append(head())
        return heads[-1]

    sums.add(("bp-1", START, "svc-1", "MB"), made, Decimal("10"), Decimal("0.10"), False, START + timedelta(minutes=5))
    sums.add(("bp-1", START, "svc-1", "MB"), made, Decimal("20"), Decimal("0.20"), True, START)
    [(event_type, data, subject)] = list(sums.events())
    assert len(heads) == 1  # the head is built once per sum
    assert (event_type, subject) == ("usage.charged", "svc-1")
    assert (data["units"], data["amount"], data["events"], data["late"]) == ("30", "0.30", 2, True)
    assert (data["firstStart"], data["lastStart"]) == (START.isoformat(), (START + timedelta(minutes=5)).isoformat())
    assert data["billId"] == 3 and data["serviceIdentifier"] == "38640111222" and data["currency"] == "EUR"


def test_another_service_or_cycle_is_a_sum_of_its_own_in_the_order_first_seen():
    sums = ChargeSums()
    next_cycle = START + timedelta(days=30)
    for key, service in [(("bp-1", START, "svc-2", "MB"), "svc-2"), (("bp-1", START, "svc-1", "MB"), "svc-1"),
                         (("bp-1", next_cycle, "svc-2", "MB"), "svc-2")]:
        sums.add(key, lambda s=service: head(s), Decimal("1"), Decimal("0.01"), False, START)
    assert len(sums) == 3
    assert [subject for _, _, subject in sums.events()] == ["svc-2", "svc-1", "svc-2"]
    assert all(data["amount"] == "0.01" and data["events"] == 1 for _, data, _ in sums.events())
