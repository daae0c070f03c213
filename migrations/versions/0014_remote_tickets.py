"""remote tickets (issue 18): a hall's remote-queue settings, a ticket's channel and check-in
deadline, and one-time SMS codes (hashes only)

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        batch.add_column(sa.Column('remote_queue', sa.JSON(), nullable=False, server_default='{}'))
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('channel', sa.String(12), nullable=False, server_default='kiosk'))
        batch.add_column(sa.Column('check_in_by', sa.DateTime(), nullable=True))
        batch.add_column(sa.Column('checked_in_at', sa.DateTime(), nullable=True))
    op.create_index('ix_tickets_remote_due', 'tickets', ['check_in_by'],
                    sqlite_where=sa.text("state = 'remote'"), postgresql_where=sa.text("state = 'remote'"))
    # before, a ticket's channel was kept only as its issuing device: without one it is not known
    # whether staff or no caller at all issued it
    op.execute("UPDATE tickets SET channel = 'system' WHERE issued_by_device_id IS NULL")
    op.create_table(
        'mobile_codes',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('purpose', sa.String(12), nullable=False),
        sa.Column('number_key', sa.String(64), nullable=False),
        sa.Column('address_key', sa.String(64), nullable=True),
        sa.Column('code_hash', sa.String(64), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('used_at', sa.DateTime(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=True),
        sa.Column('send_error', sa.String(200), nullable=True),
    )
    op.create_index('ix_mobile_codes_number', 'mobile_codes', ['number_key', 'created_at'])
    op.create_index('ix_mobile_codes_address', 'mobile_codes', ['address_key', 'created_at'])
    op.create_index('ix_mobile_codes_ticket_id', 'mobile_codes', ['ticket_id'])


def downgrade() -> None:
    op.drop_table('mobile_codes')
    op.drop_index('ix_tickets_remote_due', table_name='tickets')
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('checked_in_at')
        batch.drop_column('check_in_by')
        batch.drop_column('channel')
    with op.batch_alter_table('halls') as batch:
        batch.drop_column('remote_queue')
