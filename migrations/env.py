"""Alembic environment: the URL comes from the caller (app/cli.py) or DATABASE_URL."""
from alembic import context
from sqlalchemy import pool

from app import config as settings
from app.storage.db import make_engine
from app.storage.orm import Base

cfg = context.config
url = cfg.get_main_option("sqlalchemy.url") or settings.from_env()["DATABASE_URL"]


def run_offline() -> None:
    context.configure(url=url, target_metadata=Base.metadata, literal_binds=True, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def run_online() -> None:
    engine = make_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_offline()
else:
    run_online()
