"""a hall's configuration version: bumped in the transaction of every change to the hall, its
services or its counters, so every process knows when its cached copy is stale; the queue's
index in calling order (hall, day, state, service, tier, queued_at), so a call reads the
first few tickets of each group instead of sorting the whole queue

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05
"""
from alembic import op
import sqlalchemy as sa


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('halls', sa.Column('config_version', sa.Integer(), nullable=False, server_default='1'))
    op.drop_index('ix_ticket_queue', table_name='tickets')
    op.create_index('ix_ticket_queue', 'tickets',
                    ['hall_id', 'business_day', 'state', 'service_id', 'tier', 'queued_at'])


def downgrade() -> None:
    op.drop_index('ix_ticket_queue', table_name='tickets')
    op.create_index('ix_ticket_queue', 'tickets', ['hall_id', 'business_day', 'state', 'service_id'])
    with op.batch_alter_table('halls') as batch:
        batch.drop_column('config_version')
