"""The local process runner's rules: Procfile lines and restart backoff."""
import pytest

from chassis.procfile import MAX_BACKOFF, MIN_BACKOFF, next_backoff, parse


def test_a_procfile_maps_names_to_commands_and_skips_comments():
    assert parse("# all\n\ncustomer: python -m customer worker\nweb:  python -m gateway api \n") == {
        "customer": "python -m customer worker", "web": "python -m gateway api"}


def test_a_line_without_a_command_is_refused_with_its_number():
    with pytest.raises(ValueError, match="line 2"):
        parse("a: run\nbroken\n")


def test_a_process_that_keeps_crashing_waits_longer_each_time_up_to_the_maximum():
    waits, wait = [], MIN_BACKOFF / 2
    for _ in range(8):
        wait = next_backoff(wait, ran_for=0.5)
        waits.append(wait)
    assert waits[:3] == [1.0, 2.0, 4.0] and waits[-1] == MAX_BACKOFF


def test_a_process_that_ran_for_a_while_is_started_again_at_once():
    assert next_backoff(MAX_BACKOFF, ran_for=120) == MIN_BACKOFF
