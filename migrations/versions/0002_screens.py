"""screens: hall display texts, the floor guide's priority PIN, per-device settings (ticket printer)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('screen', sa.JSON(), nullable=False, server_default='{}'))
        batch_op.add_column(sa.Column('priority_pin_hash', sa.String(length=200), nullable=True))
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.add_column(sa.Column('settings', sa.JSON(), nullable=False, server_default='{}'))


def downgrade() -> None:
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_column('settings')
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('priority_pin_hash')
        batch_op.drop_column('screen')
