"""the queue's index in the calling order PostgreSQL can read too: (service, tier, queued_at, id),
the target counter last

A call's candidates are the first few tickets of each (service, tier) group by (queued_at, id)
among those sent to no counter. The index had the target counter before queued_at, and SQLite, which
takes ``target_counter_id IS NULL`` as an equality and appends the rowid to every index, read each
group's first few in order. PostgreSQL takes neither: for each group it read every waiting ticket and
sorted them for the first three (with 1,600 waiting the candidates statement took 1.8 ms of the
database's time on every call-next; BENCHMARKS.md, "The hot path"). With the id written and the
target counter last (a ticket sent to one counter is rare, and passed over in the index) both read
the order, and the index still holds all a call or a waiting count reads.
``tests/integration/test_query_plans.py`` fails on a plan with a sort.

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-06
"""
from alembic import op


revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None

QUEUE = 'ix_ticket_queue'
BEFORE = ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'target_counter_id', 'queued_at']
AFTER = ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'queued_at', 'id', 'target_counter_id']


def upgrade() -> None:
    op.drop_index(QUEUE, table_name='tickets')
    op.create_index(QUEUE, 'tickets', AFTER)


def downgrade() -> None:
    op.drop_index(QUEUE, table_name='tickets')
    op.create_index(QUEUE, 'tickets', BEFORE)
