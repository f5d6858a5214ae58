"""Rating's own settings: defaults, and bad values refused when the process starts."""
from datetime import timedelta

import pytest

from chassis.settings import Settings
from rating import config


def settings(monkeypatch, **env):
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return Settings.from_env("rating")


def test_the_charging_process_writes_its_transactions_on_the_wire_unless_told_not_to(monkeypatch):
    monkeypatch.delenv("RATING_CHARGING_WIRE", raising=False)
    assert config.charging_wire(settings(monkeypatch)) is True
    assert config.charging_wire(settings(monkeypatch, RATING_CHARGING_WIRE="0")) is False


@pytest.mark.parametrize("value", ["yes", "2", "true"])
def test_a_wire_setting_other_than_0_or_1_is_refused(monkeypatch, value):
    with pytest.raises(ValueError, match="RATING_CHARGING_WIRE must be 0 or 1"):
        config.charging_wire(settings(monkeypatch, RATING_CHARGING_WIRE=value))


def test_a_negative_charge_flush_window_is_refused_and_zero_flushes_at_once(monkeypatch):
    with pytest.raises(ValueError, match="must not be negative"):
        config.charge_flush_window(settings(monkeypatch, RATING_CHARGE_FLUSH_SECONDS="-1"))
    assert config.charge_flush_window(settings(monkeypatch, RATING_CHARGE_FLUSH_SECONDS="0")) == timedelta(0)
