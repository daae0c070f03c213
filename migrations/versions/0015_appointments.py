"""appointments (issue 18): a hall's booking rules, booked slots with the capacity they hold, and
the check-in code of an appointment

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls') as batch:
        batch.add_column(sa.Column('booking', sa.JSON(), nullable=False, server_default='{}'))
    op.create_table(
        'appointments',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('service_types.id'), nullable=False),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('slot_start', sa.DateTime(), nullable=False),
        sa.Column('slot_minutes', sa.Integer(), nullable=False),
        sa.Column('work_s', sa.Float(), nullable=False),
        sa.Column('state', sa.String(16), nullable=False),
        sa.Column('number_cipher', sa.String(255), nullable=True),
        sa.Column('number_key', sa.String(64), nullable=False),
        sa.Column('number_masked', sa.String(20), nullable=False),
        sa.Column('public_token', sa.String(32), nullable=False, unique=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('changed_at', sa.DateTime(), nullable=True),
        sa.Column('checked_in_at', sa.DateTime(), nullable=True),
        sa.Column('ticket_id', sa.Integer(), sa.ForeignKey('tickets.id'), nullable=True),
        sa.Column('reminded_day_before_at', sa.DateTime(), nullable=True),
        sa.Column('reminded_soon_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_appointments_hall_day', 'appointments', ['hall_id', 'business_day', 'state'])
    op.create_index('ix_appointments_number', 'appointments', ['number_key', 'slot_start'])
    op.create_index('ix_appointments_due', 'appointments', ['state', 'slot_start'])
    op.create_table(
        'appointment_slots',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), primary_key=True),
        sa.Column('slot_start', sa.DateTime(), primary_key=True),
        sa.Column('booked_s', sa.Float(), nullable=False, server_default='0'),
    )
    with op.batch_alter_table('mobile_codes') as batch:
        batch.add_column(sa.Column('appointment_id', sa.Integer(), nullable=True))
        batch.create_foreign_key('fk_mobile_codes_appointment', 'appointments', ['appointment_id'], ['id'])
    op.create_index('ix_mobile_codes_appointment_id', 'mobile_codes', ['appointment_id'])


def downgrade() -> None:
    op.drop_index('ix_mobile_codes_appointment_id', table_name='mobile_codes')
    with op.batch_alter_table('mobile_codes') as batch:
        batch.drop_constraint('fk_mobile_codes_appointment', type_='foreignkey')
        batch.drop_column('appointment_id')
    op.drop_table('appointment_slots')
    op.drop_table('appointments')
    with op.batch_alter_table('halls') as batch:
        batch.drop_column('booking')
