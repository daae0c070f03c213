"""footfall: door sensors, per-minute counts with hourly roll-ups, a hall's opening day and load rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('opened_on', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('load_rules', sa.JSON(), nullable=False, server_default='{}'))
    # halls that already exist opened on their first business day with tickets (if any)
    op.execute("UPDATE halls SET opened_on = (SELECT MIN(t.business_day) FROM tickets t WHERE t.hall_id = halls.id)")

    op.create_table(
        'footfall_sensors',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), nullable=False),
        sa.Column('device_id', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=40), nullable=False),
        sa.Column('name_zh', sa.String(length=100), nullable=False),
        sa.Column('name_en', sa.String(length=100), nullable=False),
        sa.Column('door', sa.String(length=100), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('reversed', sa.Boolean(), nullable=False),
        sa.Column('in_totals', sa.Boolean(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_report_at', sa.DateTime(), nullable=True),
        sa.Column('last_minute', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['device_id'], ['devices.id']),
        sa.ForeignKeyConstraint(['hall_id'], ['halls.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('hall_id', 'code', name='uq_sensor_code'),
    )
    op.create_index('ix_footfall_sensors_hall_id', 'footfall_sensors', ['hall_id'])
    op.create_index('ix_footfall_sensors_device_id', 'footfall_sensors', ['device_id'])
    op.create_table(
        'footfall_minutes',
        sa.Column('sensor_id', sa.Integer(), nullable=False),
        sa.Column('minute', sa.DateTime(), nullable=False),
        sa.Column('hall_id', sa.Integer(), nullable=False),
        sa.Column('in_count', sa.Integer(), nullable=False),
        sa.Column('out_count', sa.Integer(), nullable=False),
        sa.Column('received_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['hall_id'], ['halls.id']),
        sa.ForeignKeyConstraint(['sensor_id'], ['footfall_sensors.id']),
        sa.PrimaryKeyConstraint('sensor_id', 'minute'),
    )
    op.create_index('ix_footfall_minutes_hall_minute', 'footfall_minutes', ['hall_id', 'minute'])
    op.create_table(
        'footfall_hours',
        sa.Column('sensor_id', sa.Integer(), nullable=False),
        sa.Column('hour', sa.DateTime(), nullable=False),
        sa.Column('hall_id', sa.Integer(), nullable=False),
        sa.Column('in_count', sa.Integer(), nullable=False),
        sa.Column('out_count', sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(['hall_id'], ['halls.id']),
        sa.ForeignKeyConstraint(['sensor_id'], ['footfall_sensors.id']),
        sa.PrimaryKeyConstraint('sensor_id', 'hour'),
    )
    op.create_index('ix_footfall_hours_hall_hour', 'footfall_hours', ['hall_id', 'hour'])


def downgrade() -> None:
    op.drop_index('ix_footfall_hours_hall_hour', table_name='footfall_hours')
    op.drop_table('footfall_hours')
    op.drop_index('ix_footfall_minutes_hall_minute', table_name='footfall_minutes')
    op.drop_table('footfall_minutes')
    op.drop_index('ix_footfall_sensors_device_id', table_name='footfall_sensors')
    op.drop_index('ix_footfall_sensors_hall_id', table_name='footfall_sensors')
    op.drop_table('footfall_sensors')
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('load_rules')
        batch_op.drop_column('opened_on')
