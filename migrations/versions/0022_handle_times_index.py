"""the last handle times of a service from an index that holds only them: a partial index on
ticket_events (service_id, id) where the event carries a handle time (finished or transferred),
instead of the index on (service_id, kind, id)

With two kinds in the condition, PostgreSQL read every finished ticket of the service through the
old index and sorted them for the newest twenty: 2 ms of an issue's 5 with the demo's history, and
growing with it. The partial index's last twenty entries are the answer, and the other events
(issued, called, serving, ...) no longer pay for an index they never used (BENCHMARKS.md, "The hot
path").

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None

HANDLE_TIMES = "kind IN ('finished', 'transferred') AND duration_s IS NOT NULL"  # storage.orm.HANDLE_TIME_EVENTS


def upgrade() -> None:
    op.create_index('ix_ticket_events_handle_times', 'ticket_events', ['service_id', 'id'],
                    sqlite_where=sa.text(HANDLE_TIMES), postgresql_where=sa.text(HANDLE_TIMES))
    op.drop_index('ix_ticket_events_service_kind', table_name='ticket_events')


def downgrade() -> None:
    op.create_index('ix_ticket_events_service_kind', 'ticket_events', ['service_id', 'kind', 'id'])
    op.drop_index('ix_ticket_events_handle_times', table_name='ticket_events')
