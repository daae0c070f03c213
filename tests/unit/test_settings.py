"""Settings are read once at start with their types and ranges: a wrong value stops the process
naming the variable, instead of failing later somewhere else."""
import pytest

from app import config


def test_the_defaults_need_nothing_set(monkeypatch):
    for name in ("LIVE_MAX_BACKLOG", "SMS_GATEWAY", "ENFORCE_OPENING_HOURS", "HALLQ_CLOCK_ORIGIN"):
        monkeypatch.delenv(name, raising=False)
    settings = config.from_env()
    assert settings["LIVE_MAX_BACKLOG"] == 64 and settings["SMS_GATEWAY"] == "outbox"
    assert settings["ENFORCE_OPENING_HOURS"] is True and settings["CLOCK_ORIGIN"] is None
    assert settings["ROLE"] == "web" and settings["DATABASE_URL"].startswith("sqlite:///")


def test_values_are_parsed_and_an_empty_one_is_unset(monkeypatch):
    monkeypatch.setenv("ENFORCE_OPENING_HOURS", "0")
    monkeypatch.setenv("HALLQ_CLOCK_ORIGIN", "12.5")
    monkeypatch.setenv("SOCKETIO_MESSAGE_QUEUE", "")
    monkeypatch.setenv("SMS_GATEWAY", "Kannel")
    settings = config.from_env()
    assert settings["SMS_GATEWAY"] == "kannel"
    assert settings["ENFORCE_OPENING_HOURS"] is False and settings["CLOCK_ORIGIN"] == 12.5
    assert settings["SOCKETIO_MESSAGE_QUEUE"] is None


@pytest.mark.parametrize("name, value, said", [
    ("LIVE_MAX_BACKLOG", "lots", "LIVE_MAX_BACKLOG='lots'"),
    ("LIVE_MAX_BACKLOG", "0", "greater than or equal to 1"),
    ("SMS_GATEWAY", "sms", "'outbox', 'kannel' or 'twilio'"),
    ("ENFORCE_OPENING_HOURS", "perhaps", "ENFORCE_OPENING_HOURS='perhaps'"),
    ("HALLQ_CLOCK_ORIGIN", "soon", "HALLQ_CLOCK_ORIGIN='soon'"),
    ("TRUSTED_PROXIES", "-1", "TRUSTED_PROXIES='-1'"),
])
def test_a_wrong_value_stops_the_process_naming_the_variable(monkeypatch, name, value, said):
    monkeypatch.setenv(name, value)
    with pytest.raises(SystemExit) as stopped:
        config.from_env()
    assert said in str(stopped.value) and name in str(stopped.value)
