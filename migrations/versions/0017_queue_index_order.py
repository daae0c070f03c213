"""the queue's index in calling order: the target counter comes before queued_at, so a group's first
few (target counter none, by queued_at then id) are read in index order with no sort; and the index
of tickets sent to a counter (transfers) also holds what a call reads of them (service, tier,
queued_at), so the call's look for them reads that small index alone

Before, each (service, tier) group of a call-next sorted its ties in a temporary b-tree, and SQLite's
planner (without ANALYZE statistics) preferred the covering queue index over the partial one, reading
every waiting ticket of the day: the candidates statement took 2.4 ms with 1,600 waiting and 6
services, 0.9 ms after (BENCHMARKS.md, "The hot path").

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None

SENT = "target_counter_id IS NOT NULL"
NAME = 'ix_tickets_sent_to_counter'
BEFORE = ['target_counter_id', 'hall_id', 'business_day', 'state']
AFTER = BEFORE + ['service_id', 'tier', 'queued_at']


def _create(columns) -> None:
    op.create_index(NAME, 'tickets', columns, sqlite_where=sa.text(SENT), postgresql_where=sa.text(SENT))


QUEUE = 'ix_ticket_queue'
QUEUE_BEFORE = ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'queued_at', 'target_counter_id']
QUEUE_AFTER = ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'target_counter_id', 'queued_at']


def upgrade() -> None:
    op.drop_index(NAME, table_name='tickets')
    _create(AFTER)
    op.drop_index(QUEUE, table_name='tickets')
    op.create_index(QUEUE, 'tickets', QUEUE_AFTER)


def downgrade() -> None:
    op.drop_index(QUEUE, table_name='tickets')
    op.create_index(QUEUE, 'tickets', QUEUE_BEFORE)
    op.drop_index(NAME, table_name='tickets')
    _create(BEFORE)
