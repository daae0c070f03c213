"""the display's media area (issue 22): each hall's images and short videos for the waiting area,
played beside the calls; the files live in the instance folder's media/<hall>/ under unguessable
names, these rows say what each is, its order and how long an image stays

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""
from alembic import op
import sqlalchemy as sa


revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'hall_media',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('hall_id', sa.Integer(), sa.ForeignKey('halls.id'), nullable=False),
        sa.Column('file_name', sa.String(64), nullable=False, unique=True),
        sa.Column('title', sa.String(100), nullable=False),
        sa.Column('kind', sa.String(8), nullable=False),
        sa.Column('content_type', sa.String(32), nullable=False),
        sa.Column('size_bytes', sa.Integer(), nullable=False),
        sa.Column('width', sa.Integer(), nullable=False),
        sa.Column('height', sa.Integer(), nullable=False),
        sa.Column('seconds', sa.Float(), nullable=False),
        sa.Column('position', sa.Integer(), nullable=False),
        sa.Column('active', sa.Boolean(), nullable=False, server_default=sa.true()),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_hall_media_hall', 'hall_media', ['hall_id', 'position'])


def downgrade() -> None:
    op.drop_index('ix_hall_media_hall', table_name='hall_media')
    op.drop_table('hall_media')
