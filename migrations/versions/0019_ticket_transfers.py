"""how many times a ticket was transferred (issue 22: transfer with a note): the next counter's
console reads the ticket's transfers (counters, services, time served, notes) only for a ticket
that has some, so a call of an ordinary ticket reads nothing more; open tickets transferred
before are counted from their events

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.add_column(sa.Column('transfers', sa.Integer(), nullable=False, server_default='0'))
    # tickets already transferred today keep their history visible
    op.execute("UPDATE tickets SET transfers = (SELECT count(*) FROM ticket_events e "
               "WHERE e.ticket_id = tickets.id AND e.kind = 'transferred') "
               "WHERE closed_at IS NULL AND EXISTS (SELECT 1 FROM ticket_events e "
               "WHERE e.ticket_id = tickets.id AND e.kind = 'transferred')")


def downgrade() -> None:
    with op.batch_alter_table('tickets') as batch:
        batch.drop_column('transfers')
