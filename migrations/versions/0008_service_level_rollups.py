"""service-level roll-ups: ticket outcomes, waits and handle times per hall and business day (and per
hour, service, counter, staff member and tier), with wait and handle-time histograms; counter
sessions (open to close) for counter utilisation; report files' mailing state and staff e-mail addresses

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# app.domain.kpi: COUNT_FIELDS, then one column per WAIT_BINS bin (27) and per HANDLE_BINS bin (21)
COUNTS = ['arrivals', 'served', 'no_show', 'cancelled', 'expired', 'still_open', 'transfers', 'waited',
          'wait_sum_s', 'within_target', 'handled', 'handle_sum_s']
WAIT_BINS, HANDLE_BINS = 27, 21


def _counts() -> list[sa.Column]:
    names = COUNTS + [f'w{i}' for i in range(WAIT_BINS)] + [f'h{i}' for i in range(HANDLE_BINS)]
    return [sa.Column(n, sa.BigInteger() if n.endswith('_sum_s') else sa.Integer(), nullable=False) for n in names]


def upgrade() -> None:
    with op.batch_alter_table('report_files') as batch:
        batch.add_column(sa.Column('mailed_at', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('mail_attempts', sa.Integer(), nullable=False, server_default='0'))
        batch.add_column(sa.Column('mail_error', sa.String(length=400), nullable=True))
    with op.batch_alter_table('staff') as batch:
        batch.add_column(sa.Column('email', sa.String(length=254), nullable=True))
    op.create_table(
        'counter_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('counter_id', sa.Integer(), sa.ForeignKey('counters.id'), nullable=False),
        sa.Column('staff_id', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_counter_sessions_hall_opened', 'counter_sessions', ['hall_id', 'opened_at'])
    op.create_index('ix_counter_sessions_counter_closed', 'counter_sessions', ['counter_id', 'closed_at'])
    op.create_table(
        'kpi_days',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('hour', sa.Integer(), nullable=False),
        sa.Column('service_id', sa.Integer(), nullable=False),
        sa.Column('counter_id', sa.Integer(), nullable=False),
        sa.Column('staff_id', sa.Integer(), nullable=False),
        sa.Column('tier', sa.String(length=16), nullable=False),
        *_counts(),
        sa.PrimaryKeyConstraint('hall_id', 'day', 'hour', 'service_id', 'counter_id', 'staff_id', 'tier'),
    )
    op.create_table(
        'kpi_hall_days',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        *_counts(),
        sa.Column('busy_hour', sa.Integer(), nullable=True),
        sa.Column('busy_arrivals', sa.Integer(), nullable=False),
        sa.Column('busy_waited', sa.Integer(), nullable=False),
        sa.Column('busy_wait_sum_s', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('hall_id', 'day'),
    )
    op.create_index('ix_kpi_hall_days_day', 'kpi_hall_days', ['day'])
    op.create_index('ix_tickets_business_day', 'tickets', ['business_day'])


def downgrade() -> None:
    op.drop_index('ix_tickets_business_day', table_name='tickets')
    op.drop_index('ix_kpi_hall_days_day', table_name='kpi_hall_days')
    op.drop_table('kpi_hall_days')
    op.drop_table('kpi_days')
    op.drop_index('ix_counter_sessions_counter_closed', table_name='counter_sessions')
    op.drop_index('ix_counter_sessions_hall_opened', table_name='counter_sessions')
    op.drop_table('counter_sessions')
    with op.batch_alter_table('staff') as batch:
        batch.drop_column('email')
    with op.batch_alter_table('report_files') as batch:
        batch.drop_column('mail_error')
        batch.drop_column('mail_attempts')
        batch.drop_column('mailed_at')
