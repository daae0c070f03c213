"""the service-level roll-up of tickets by the channel they were taken through (issue 18): kiosk,
staff, system, remote, appointment; ``kpi_days.channel`` joins its primary key. Rows made before
read as kiosk tickets until rebuilt (``flask --app app service-levels-rebuild``; the scheduler
rebuilds the last days by itself). Going down drops the per-channel rows (rebuild them after).

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07
"""
from alembic import op
import sqlalchemy as sa


revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

KEY = ['hall_id', 'day', 'hour', 'service_id', 'counter_id', 'staff_id', 'tier']
PK = 'kpi_days_pkey'  # PostgreSQL's name for 0008's unnamed primary key


def upgrade() -> None:
    channel = sa.Column('channel', sa.String(length=12), nullable=False, server_default='kiosk')
    if op.get_bind().dialect.name == 'postgresql':
        op.add_column('kpi_days', channel)
        op.drop_constraint(PK, 'kpi_days', type_='primary')
        op.create_primary_key(PK, 'kpi_days', KEY + ['channel'])
    else:  # SQLite changes a primary key only by copying the table
        channel.primary_key = True
        with op.batch_alter_table('kpi_days', recreate='always') as batch:
            batch.add_column(channel)
            batch.create_primary_key(PK, KEY + ['channel'])


def downgrade() -> None:
    op.execute(sa.text('DELETE FROM kpi_days'))  # rows of one key in several channels would clash
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint(PK, 'kpi_days', type_='primary')
        op.drop_column('kpi_days', 'channel')
        op.create_primary_key(PK, 'kpi_days', KEY)
    else:
        with op.batch_alter_table('kpi_days', recreate='always') as batch:
            batch.drop_column('channel')
            batch.create_primary_key(PK, KEY)
