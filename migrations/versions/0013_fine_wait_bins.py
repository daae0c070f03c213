"""waits under two minutes counted again in 10-second bins (f0..f11) in both service-level
roll-ups, so that a hall whose customers wait seconds reads its median and P90 in seconds;
rows made before (zeros here) keep the one-minute reading until rebuilt
(``flask --app app service-levels-rebuild``)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

FINE = [f'f{i}' for i in range(12)]  # app.domain.kpi.FINE_WAIT_BINS


def upgrade() -> None:
    for table in ('kpi_days', 'kpi_hall_days'):
        with op.batch_alter_table(table) as batch:
            for name in FINE:
                batch.add_column(sa.Column(name, sa.Integer(), nullable=False, server_default='0'))


def downgrade() -> None:
    for table in ('kpi_days', 'kpi_hall_days'):
        with op.batch_alter_table(table) as batch:
            for name in FINE:
                batch.drop_column(name)
