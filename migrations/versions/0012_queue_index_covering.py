"""the queue's index also holds each ticket's target counter, so counting the waiting (per service,
and the people ahead) reads the index alone; and a small index of the tickets sent to a counter
(transfers), so a call finds them without reading the whole queue

Before, both read every waiting ticket's row: 0.4 ms an issue and 1 ms a call with 2,400 waiting
(BENCHMARKS.md, "The hot path").

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

SENT = "target_counter_id IS NOT NULL"


def upgrade() -> None:
    op.drop_index('ix_ticket_queue', table_name='tickets')
    op.create_index('ix_ticket_queue', 'tickets',
                    ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'queued_at', 'target_counter_id'])
    op.create_index('ix_tickets_sent_to_counter', 'tickets', ['target_counter_id', 'hall_id', 'business_day', 'state'],
                    sqlite_where=sa.text(SENT), postgresql_where=sa.text(SENT))


def downgrade() -> None:
    op.drop_index('ix_tickets_sent_to_counter', table_name='tickets')
    op.drop_index('ix_ticket_queue', table_name='tickets')
    op.create_index('ix_ticket_queue', 'tickets',
                    ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'queued_at'])
