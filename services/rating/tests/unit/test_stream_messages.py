"""What one usage stream message carries (one event or a batch of them) and how the stream cuts a handled
batch's events into chunks, free of I/O."""
import pytest

from rating.domain.usage import UsageRejected, message_events
from rating.entrypoints.stream import chunks

EVENT = {"id": "e-1", "serviceType": "data", "serviceIdentifier": "4917", "startTime": "2026-01-01T10:00:00Z",
         "quantity": "3"}


def refused(document, limit=3):
    with pytest.raises(UsageRejected) as error:
        message_events(document, limit)
    return error.value


def test_a_message_that_is_not_a_batch_is_one_event_judged_later_whatever_it_holds():
    assert message_events(EVENT, 3) == ([EVENT], False)
    assert message_events({"no": "id"}, 3) == ([{"no": "id"}], False)
    assert message_events([EVENT], 3) == ([[EVENT]], False)  # an array is no batch: refused as an event


def test_a_batch_gives_its_events_in_order_up_to_the_limit():
    events = [{**EVENT, "id": f"e-{n}"} for n in range(3)]
    assert message_events({"events": events}, 3) == (events, True)


def test_a_batch_over_the_limit_or_empty_or_without_an_array_is_refused_naming_events():
    for value in ([EVENT] * 4, [], {"0": EVENT}, None):
        problem = refused({"events": value})
        assert problem.field == "events" and "1 to 3 usage events" in problem.reason


def test_a_batch_with_another_member_is_refused_naming_that_member():
    assert refused({"events": [EVENT], "source": "msc-1"}).field == "source"


def test_a_batch_element_is_not_judged_by_the_message_parser():
    # Elements are rated one by one, so one bad element costs only itself.
    assert message_events({"events": [EVENT, "x", {}]}, 3) == ([EVENT, "x", {}], True)


def test_chunks_cut_events_into_lists_of_the_size_the_last_one_shorter():
    assert list(chunks(range(7), 3)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert list(chunks(range(6), 3)) == [[0, 1, 2], [3, 4, 5]]
    assert list(chunks([], 3)) == []


def test_chunks_take_their_items_lazily_so_only_one_chunk_is_held_at_a_time():
    taken = []

    def items():
        for n in range(10):
            taken.append(n)
            yield n

    first = next(chunks(items(), 4))
    assert first == [0, 1, 2, 3] and taken == [0, 1, 2, 3]
