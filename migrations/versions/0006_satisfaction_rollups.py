"""satisfaction roll-ups: survey counts per hall and business day (and per counter, staff, service, wait band)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def _counts() -> list[sa.Column]:
    """Surveys sent, rated, and ratings per score value 0-10."""
    return [sa.Column(name, sa.Integer(), nullable=False)
            for name in ['sent', 'rated'] + [f'r{v}' for v in range(11)]]


def upgrade() -> None:
    op.create_table(
        'satisfaction_days',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('wait_band', sa.Integer(), nullable=False),
        *_counts(),
        sa.PrimaryKeyConstraint('hall_id', 'day', 'staff_id', 'counter_id', 'service_id', 'wait_band'),
    )
    op.create_table(
        'satisfaction_hall_days',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *_counts(),
        sa.PrimaryKeyConstraint('hall_id', 'day'),
    )


def downgrade() -> None:
    op.drop_table('satisfaction_hall_days')
    op.drop_table('satisfaction_days')
