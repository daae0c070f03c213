"""administration: the hall's VIP roster (star levels), green-channel rules, holiday closures, a
counter's small-display mode, head office of one region

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02
"""
from alembic import op
import sqlalchemy as sa


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('halls', sa.Column('closures', sa.JSON(), nullable=False, server_default='[]'))
    op.add_column('halls', sa.Column('green_channel', sa.JSON(), nullable=False, server_default='{}'))
    op.add_column('counters', sa.Column('display_mode', sa.String(length=10), nullable=False,
                                        server_default='full'))
    with op.batch_alter_table('staff') as batch:  # SQLite: a new foreign key rebuilds the table
        batch.add_column(sa.Column('region_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_staff_region_id', 'regions', ['region_id'], ['id'])
    op.create_table(
        'vip_members',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('number_key', sa.String(length=64), nullable=False),
        sa.Column('number_cipher', sa.Text(), nullable=False),
        sa.Column('number_masked', sa.String(length=24), nullable=False),
        sa.Column('name', sa.Unicode(length=100), nullable=False, server_default=''),
        sa.Column('star_level', sa.Integer(), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=True),
        sa.Column('note', sa.Unicode(length=200), nullable=False, server_default=''),
        sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hall_id', 'number_key', name='uq_vip_members_hall_number'),
    )


def downgrade() -> None:
    op.drop_table('vip_members')
    with op.batch_alter_table('staff') as batch:
        batch.drop_constraint('fk_staff_region_id', type_='foreignkey')
        batch.drop_column('region_id')
    op.drop_column('counters', 'display_mode')
    op.drop_column('halls', 'green_channel')
    op.drop_column('halls', 'closures')
