"""Bill statuses and the billing shift, as the seed describes them."""
from datetime import UTC, datetime

import pytest

from billing.domain.bills import BillState, BillStatus, check_transition, shift
from billing.domain.cycles import Calendar
from billing.domain.profiles import Interval
from chassis.errors import Conflict

CALENDAR = Calendar(Interval.MONTHLY, 1)
CURRENT = CALENDAR.cycle_containing(datetime(2026, 3, 10, tzinfo=UTC))
NEXT = CALENDAR.next_cycle(CURRENT)


def test_the_seed_example_110_billing_111_active_112_new_inactive():
    result = shift(BillState(110, BillStatus.ACTIVE, CURRENT), BillState(111, BillStatus.INACTIVE, NEXT),
                   112, CALENDAR.next_cycle(NEXT))
    assert (result.billed.id, result.billed.status) == (110, BillStatus.BILLING)
    assert (result.activated.id, result.activated.status) == (111, BillStatus.ACTIVE)
    assert (result.prepared.id, result.prepared.status) == (112, BillStatus.INACTIVE)
    assert result.prepared.cycle.start == result.activated.cycle.end


@pytest.mark.parametrize(("current", "target"), [
    (BillStatus.INACTIVE, BillStatus.BILLING), (BillStatus.ACTIVE, BillStatus.CLOSED),
    (BillStatus.CLOSED, BillStatus.ACTIVE), (BillStatus.BILLING, BillStatus.ACTIVE)])
def test_a_bill_cannot_skip_or_go_back_a_status(current, target):
    with pytest.raises(Conflict):
        check_transition(current, target)


def test_billing_an_already_billed_bill_is_refused():
    with pytest.raises(Conflict):
        shift(BillState(110, BillStatus.BILLING, CURRENT), BillState(111, BillStatus.INACTIVE, NEXT),
              112, CALENDAR.next_cycle(NEXT))
