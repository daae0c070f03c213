"""The schema comes from Alembic and matches the models; the README's set-up commands work."""
import pytest
from alembic import command
from sqlalchemy import create_engine, inspect

from app import create_app
from app.bootstrap import bootstrap
from app.cli import alembic_config

from ..conftest import FAST_HASH


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_the_migrated_schema_matches_the_models(request, url_fixture):
    url = request.getfixturevalue(url_fixture)
    command.check(alembic_config(url))  # raises if autogenerate would find a difference


def test_migrations_go_down_and_up_again(tmp_path):
    url = f"sqlite:///{tmp_path / 'm.sqlite3'}"
    cfg = alembic_config(url)
    command.upgrade(cfg, "head")
    command.downgrade(cfg, "base")
    assert set(inspect(create_engine(url)).get_table_names()) <= {"alembic_version"}
    command.upgrade(cfg, "head")
    assert "tickets" in inspect(create_engine(url)).get_table_names()


def test_db_upgrade_and_demo_commands_set_up_a_working_hall(database_url, clock, monkeypatch, tmp_path):
    """On both databases: PostgreSQL's sequences must follow the ids the demo's history brings."""
    monkeypatch.setenv("PASSWORD_HASH_METHOD", "pbkdf2:sha256:1000")
    rt = bootstrap(database_url, clock=clock, enforce_opening_hours=False, password_hash_method=FAST_HASH)
    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": "t", "RUNTIME": rt,
                      "ENFORCE_OPENING_HOURS": False, "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef", "PRINTER_FOLDER": str(tmp_path / "paper")})
    runner = app.test_cli_runner()  # bound to this app, not the one FLASK_APP would find
    upgraded = runner.invoke(args=["db", "upgrade"])
    assert upgraded.exit_code == 0, upgraded.output
    demo = runner.invoke(args=["demo"])
    assert demo.exit_code == 0, demo.output
    kiosk = next(line.split()[-1] for line in demo.output.splitlines() if "ZZ-EQ" in line and "kiosk" in line)
    again = runner.invoke(args=["demo"])
    assert "already present" in again.output  # running `make run` twice is fine

    client = app.test_client()
    services = client.get("/api/v1/halls/2/services", headers={"Authorization": f"Bearer {kiosk}"}).json["services"]
    assert [s["name_zh"] for s in services] == ["缴费充值", "业务办理", "宽带", "手机销售", "集团客户", "投诉"]
    ticket = client.post("/api/v1/halls/2/tickets", json={"service_id": services[0]["id"]},
                         headers={"Authorization": f"Bearer {kiosk}"})
    assert ticket.status_code == 201 and ticket.json["label"] == "A001"
    printed = client.post(f"/api/v1/tickets/{ticket.json['public_token']}/print",
                          headers={"Authorization": f"Bearer {kiosk}"})
    assert printed.json["ok"] and b"A001" in (tmp_path / "paper" / "printer-ZZ-EQ.escpos").read_bytes()
    signed_in = client.post("/api/v1/auth/tokens", json={"username": "eq01", "password": "demo1234"})
    assert signed_in.status_code == 201

    # the demo's history is in the reports: the service-level roll-ups, and a backfill of them by hand
    hq = client.post("/api/v1/auth/tokens", json={"username": "headoffice", "password": "demo1234"}).json["token"]
    overview = client.get("/api/v1/service-levels/halls?period=week",
                          headers={"Authorization": f"Bearer {hq}"}).json
    rebuilt = runner.invoke(args=["service-levels-rebuild", "--from", "2026-01-01", "--to", "2026-12-31"])
    assert rebuilt.exit_code == 0 and "Done" in rebuilt.output, rebuilt.output
    again = client.get("/api/v1/service-levels/halls?period=week", headers={"Authorization": f"Bearer {hq}"}).json
    assert again["totals"]["arrivals"] == overview["totals"]["arrivals"] + 1  # the ticket taken above
    backwards = runner.invoke(args=["service-levels-rebuild", "--from", "2026-02-01", "--to", "2026-01-01"])
    assert backwards.exit_code != 0 and "--to" in backwards.output


def test_create_admin_makes_the_first_account_of_a_new_deployment_and_refuses_a_weak_or_taken_one(
        sqlite_url, clock):
    rt = bootstrap(sqlite_url, clock=clock, password_hash_method=FAST_HASH)
    app = create_app({"DATABASE_URL": sqlite_url, "SECRET_KEY": "t", "RUNTIME": rt,
                      "SMS_DATA_KEY": "test-sms-data-key-0123456789abcdef"})
    runner = app.test_cli_runner()
    made = runner.invoke(args=["create-admin", "root"], input="first-pass-2026\nfirst-pass-2026\n")
    assert made.exit_code == 0 and "Administrator root created" in made.output, made.output
    signed_in = app.test_client().post("/api/v1/auth/tokens", json={"username": "root", "password": "first-pass-2026"})
    assert signed_in.status_code == 201
    weak = runner.invoke(args=["create-admin", "root2", "--password", "short"])
    assert weak.exit_code != 0 and "password" in weak.output
    taken = runner.invoke(args=["create-admin", "root"], env={"HALLQ_ADMIN_PASSWORD": "another-pass-2026"})
    assert taken.exit_code != 0 and "username" in taken.output
