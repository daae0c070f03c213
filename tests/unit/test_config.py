"""Settings that depend on the process's role."""
from app import config


def test_live_role_takes_every_screen(monkeypatch):
    monkeypatch.setenv("WEB_THREADS", "1000")
    assert config.default_live_max_clients("live") == 0


def test_threading_web_keeps_threads_free_for_http(monkeypatch):
    monkeypatch.setenv("WEB_THREADS", "1000")
    assert config.default_live_max_clients("web") == 1000 - config.HTTP_THREADS
    monkeypatch.setenv("WEB_THREADS", "8")
    assert config.default_live_max_clients("web") == 1


def test_explicit_limit_wins(monkeypatch):
    monkeypatch.setenv("LIVE_MAX_CLIENTS", "50")
    assert config.from_env()["LIVE_MAX_CLIENTS"] == 50
    monkeypatch.delenv("LIVE_MAX_CLIENTS")
    assert config.from_env()["LIVE_MAX_CLIENTS"] is None
