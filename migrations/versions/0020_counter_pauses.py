"""pausing a counter (issue 22): the counter's current pause (``counters.paused_at``,
``counters.pause_reason``: break, training, system), read with the counter in the call's own
statement, and every pause kept in ``counter_pauses`` for the reports (paused time as its own
category beside serving and idle)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('counters') as batch:
        batch.add_column(sa.Column('paused_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('pause_reason', sa.String(16), nullable=True))
    op.create_table(
        'counter_pauses',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('counter_id', sa.Integer(), sa.ForeignKey('counters.id'), nullable=False),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('reason', sa.String(16), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_counter_pauses_hall_started', 'counter_pauses', ['hall_id', 'started_at'])


def downgrade() -> None:
    op.drop_index('ix_counter_pauses_hall_started', table_name='counter_pauses')
    op.drop_table('counter_pauses')
    with op.batch_alter_table('counters') as batch:
        batch.drop_column('pause_reason')
        batch.drop_column('paused_at')
