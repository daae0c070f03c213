"""forecasting: arrival history per interval, forecasts, counter plans, peak warnings, the scheduler's lease and job store

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.add_column(sa.Column('staffing', sa.JSON(), nullable=False, server_default='{}'))

    op.create_table(
        'arrival_slots',
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('service_types.id'), nullable=False),
        sa.Column('slot', sa.DateTime(), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('arrivals', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('service_id', 'slot'),
    )
    op.create_index('ix_arrival_slots_hall_slot', 'arrival_slots', ['hall_id', 'slot'])
    op.create_table(
        'arrival_rollups',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('made_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('hall_id', 'business_day'),
    )
    op.create_table(
        'forecast_slots',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('service_types.id'), nullable=True),
        sa.Column('slot', sa.DateTime(), nullable=False),
        sa.Column('mean', sa.Float(), nullable=False),
        sa.Column('p10', sa.Float(), nullable=False),
        sa.Column('p50', sa.Float(), nullable=False),
        sa.Column('p90', sa.Float(), nullable=False),
        sa.Column('needed', sa.Integer(), nullable=False),
        sa.Column('made_at', sa.DateTime(), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_forecast_slots_hall_slot', 'forecast_slots', ['hall_id', 'slot'])
    op.create_table(
        'counter_plans',
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('business_day', sa.Date(), nullable=False),
        sa.Column('interval_minutes', sa.Integer(), nullable=False),
        sa.Column('first_slot', sa.DateTime(), nullable=False),
        sa.Column('needs', sa.JSON(), nullable=False),
        sa.Column('shifts', sa.JSON(), nullable=False),
        sa.Column('made_at', sa.DateTime(), nullable=False),
        sa.Column('model', sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint('hall_id', 'business_day'),
    )
    op.create_table(
        'peak_warnings',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('service_id', sa.Integer(), sa.ForeignKey('service_types.id'), nullable=True),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('key', sa.String(length=40), nullable=False),
        sa.Column('severity', sa.String(length=16), nullable=False),
        sa.Column('window_start', sa.DateTime(), nullable=False),
        sa.Column('window_end', sa.DateTime(), nullable=False),
        sa.Column('counters_open', sa.Integer(), nullable=False),
        sa.Column('counters_needed', sa.Integer(), nullable=False),
        sa.Column('figure', sa.Float(), nullable=False),
        sa.Column('message_zh', sa.String(length=400), nullable=False),
        sa.Column('message_en', sa.String(length=400), nullable=False),
        sa.Column('raised_at', sa.DateTime(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
        sa.Column('acknowledged_by', sa.Integer(), sa.ForeignKey('staff.id'), nullable=True),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('uq_peak_warning_standing', 'peak_warnings', ['hall_id', 'key'], unique=True,
                    sqlite_where=sa.text('resolved_at IS NULL'), postgresql_where=sa.text('resolved_at IS NULL'))
    op.create_index('ix_peak_warnings_hall_raised', 'peak_warnings', ['hall_id', 'raised_at'])
    op.create_table(
        'scheduler_leases',
        sa.Column('name', sa.String(length=40), nullable=False),
        sa.Column('holder', sa.String(length=120), nullable=False),
        sa.Column('expires_at', sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint('name'),
    )
    # APScheduler's SQLAlchemyJobStore table, made here so that Alembic owns the whole schema
    op.create_table(
        'apscheduler_jobs',
        sa.Column('id', sa.Unicode(length=191), nullable=False),
        sa.Column('next_run_time', sa.Float(precision=25), nullable=True),
        sa.Column('job_state', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_apscheduler_jobs_next_run_time', 'apscheduler_jobs', ['next_run_time'])


def downgrade() -> None:
    op.drop_index('ix_apscheduler_jobs_next_run_time', table_name='apscheduler_jobs')
    op.drop_table('apscheduler_jobs')
    op.drop_table('scheduler_leases')
    op.drop_index('ix_peak_warnings_hall_raised', table_name='peak_warnings')
    op.drop_index('uq_peak_warning_standing', table_name='peak_warnings')
    op.drop_table('peak_warnings')
    op.drop_table('counter_plans')
    op.drop_index('ix_forecast_slots_hall_slot', table_name='forecast_slots')
    op.drop_table('forecast_slots')
    op.drop_table('arrival_rollups')
    op.drop_index('ix_arrival_slots_hall_slot', table_name='arrival_slots')
    op.drop_table('arrival_slots')
    with op.batch_alter_table('halls', schema=None) as batch_op:
        batch_op.drop_column('staffing')
