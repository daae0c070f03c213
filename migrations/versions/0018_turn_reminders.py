"""the "your turn soon" SMS (issue 22): each service says how many people ahead the reminder is
sent at (``service_types.remind_ahead``, default 3, 0 for none), and ``turn_reminders`` keeps each
ticket's two reminders (``soon``, ``called``) once claimed, so that each goes once, whichever
scheduler process runs. The ticket rows, on the hot path, stay as they were.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('service_types') as batch:
        batch.add_column(sa.Column('remind_ahead', sa.Integer(), nullable=False, server_default='3'))
    op.create_table(
        'turn_reminders',
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), primary_key=True),
        sa.Column('kind', sa.String(8), primary_key=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('outcome', sa.String(12), nullable=False),
    )
    op.create_index('ix_turn_reminders_hall_at', 'turn_reminders', ['hall_id', 'at'])


def downgrade() -> None:
    op.drop_index('ix_turn_reminders_hall_at', table_name='turn_reminders')
    op.drop_table('turn_reminders')
    with op.batch_alter_table('service_types') as batch:
        batch.drop_column('remind_ahead')
