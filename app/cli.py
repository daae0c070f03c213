"""Command-line tasks: ``flask --app app db upgrade``, ``flask --app app demo``."""
from __future__ import annotations

from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import Flask, current_app

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def migrate(database_url: str, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (the only way the schema is made outside tests)."""
    command.upgrade(alembic_config(database_url), revision)


def register_cli(app: Flask) -> None:
    @app.cli.group()
    def db():
        """Database schema (Alembic)."""

    @db.command("upgrade")
    @click.option("--revision", default="head")
    def upgrade(revision):
        """Migrate the database to the latest schema."""
        url = current_app.config["DATABASE_URL"]
        click.echo(f"迁移数据库 Migrating {url.split('@')[-1]} -> {revision}")
        migrate(url, revision)
        click.echo("完成 Done")

    @app.cli.command("demo")
    @click.option("--password", default="demo1234", show_default=True, help="Password of every demo account")
    def demo(password):
        """Create a demo city with two halls, services, counters, staff and device tokens."""
        from .demo import create_demo

        for line in create_demo(current_app.extensions["hallq"], password):
            click.echo(line)

    @app.cli.command("service-levels-rebuild")
    @click.option("--from", "first", required=True, type=click.DateTime(["%Y-%m-%d"]), help="First business day")
    @click.option("--to", "last", required=True, type=click.DateTime(["%Y-%m-%d"]), help="Last business day")
    def service_levels_rebuild(first, last):
        """Rebuild the service-level roll-ups of a range of days from the tickets' histories (a
        backfill after an import or an upgrade; the scheduler keeps the recent days current)."""
        from datetime import timedelta

        from .services import service_levels

        rt = current_app.extensions["hallq"]
        first, last = first.date(), last.date()
        if last < first:
            raise click.BadParameter("--to is before --from", param_hint="--to")
        weeks = [(first + timedelta(days=i), min(first + timedelta(days=i + 6), last))
                 for i in range(0, (last - first).days + 1, 7)]
        tickets = 0
        with click.progressbar(weeks, label="重建服务指标 Rebuilding service levels",
                               item_show_func=lambda w: w and f"{w[0]}..{w[1]}") as bar:
            for a, b in bar:
                tickets += service_levels.rebuild(rt, a, b)["tickets"]
        click.echo(f"完成 Done: {tickets} tickets, {first} .. {last}")

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.option("--name", default="管理员", show_default=True, help="The name shown on pages and in the audit trail")
    @click.option("--password", envvar="HALLQ_ADMIN_PASSWORD", default=None,
                  help="The password (else HALLQ_ADMIN_PASSWORD, else asked twice; at least 8 characters)")
    def create_admin(username, name, password):
        """Create an administrator account: the first sign-in of a new deployment (administrators create
        everything else, halls and their staff included, on the administration pages)."""
        from pydantic import ValidationError

        from .domain.errors import DomainError
        from .services import config
        from .web.schemas import StaffBody

        if password is None:
            password = click.prompt("密码 Password", hide_input=True, confirmation_prompt=True)
        try:
            body = StaffBody.model_validate({"username": username, "name": name, "password": password,
                                             "role": "admin"})
            made = config.create_staff(current_app.extensions["hallq"], body.model_dump(exclude_none=True))
        except ValidationError as exc:
            first = exc.errors()[0]
            raise click.ClickException(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None
        except DomainError as exc:
            raise click.ClickException(f"{exc.field}: {exc}" if exc.field else str(exc)) from None
        click.echo(f"管理员已创建 Administrator {made['username']} created (id {made['id']}); sign in at /login")

    @app.cli.command("backup")
    @click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(path):
        """Write a backup archive: the database (a consistent copy while the server runs) and the two
        keys it cannot be read without. Keep it as safely as the database itself."""
        from .backups import BackupError, backup
        from .services.protect import instance_key

        config = current_app.config
        keys = {"SECRET_KEY": config["SECRET_KEY"],
                "SMS_DATA_KEY": config.get("SMS_DATA_KEY") or instance_key(Path(current_app.instance_path))}
        rt = current_app.extensions["hallq"]
        try:
            manifest = backup(str(rt.engine.url.render_as_string(hide_password=False)), keys, path, rt.now())
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        rows = ", ".join(f"{n} {t}" for t, n in manifest["rows"].items())
        click.echo(f"备份完成 Backed up to {path} ({manifest['database']}, schema {manifest['schema_revision']}): {rows}")

    @app.cli.command("restore")
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Restore over a database that already holds halls")
    def restore_command(path, force):
        """Restore a backup archive into the configured database (stop the servers first) and its keys
        into the instance folder; then run `flask --app app db upgrade`."""
        import os

        from .backups import BackupError, restore

        rt = current_app.extensions["hallq"]
        url = rt.engine.url.render_as_string(hide_password=False)
        rt.engine.dispose()  # the restore replaces what this process might hold open
        configured = {name: os.environ.get(name, "") for name in ("SECRET_KEY", "SMS_DATA_KEY")}
        try:
            manifest = restore(url, path, Path(current_app.instance_path), configured, force)
        except BackupError as exc:
            raise click.ClickException(str(exc)) from None
        rows = ", ".join(f"{n} {t}" for t, n in manifest["rows"].items())
        click.echo(f"恢复完成 Restored {path} (made {manifest['created_at']}, schema {manifest['schema_revision']}): "
                   f"{rows}; now run: flask --app app db upgrade")

    @app.cli.command("demo-rush")
    @click.argument("hall_code")
    @click.option("--tickets", default=40, show_default=True, help="How many customers arrive at once")
    def demo_rush(hall_code, tickets):
        """A morning rush at a demo hall: TICKETS customers take numbers now. Within a minute the
        scheduler raises a live peak warning on the manager's page (/manager/)."""
        from .demo import rush

        for line in rush(current_app.extensions["hallq"], hall_code, tickets):
            click.echo(line)

