"""item browser: indexes its pages walk in id order and stop after a page (the model's
label in id order, final items by consensus confidence, one annotator's labels in item
order), instead of building the whole match set first

Revision ID: 0014_items18
Revises: 0013_reqpath
Create Date: 2026-12-02 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014_items18'
down_revision = '0013_reqpath'
branch_labels = None
depends_on = None

FINAL = "final_label IS NOT NULL"


def upgrade():
    # Plain CREATE INDEX: SQLite keeps the item table and its search triggers.
    op.create_index(
        'ix_item_prediction_id',
        'item',
        ['project_id', 'predicted_label', 'id', 'predicted_confidence'],
    )
    op.create_index(
        'ix_item_final_confidence',
        'item',
        ['project_id', 'consensus_confidence'],
        sqlite_where=sa.text(FINAL),
        postgresql_where=sa.text(FINAL),
    )
    # The date filter's index holds the item too, so the items labeled in a date range
    # are read from the index alone.
    op.drop_index('ix_annotation_user_time', table_name='annotation')
    op.create_index(
        'ix_annotation_user_time', 'annotation', ['user_id', 'project_id', 'updated_at', 'item_id']
    )
    op.create_index(
        'ix_annotation_user_item',
        'annotation',
        ['user_id', 'project_id', 'item_id', 'updated_at'],
    )
    bind = op.get_bind()
    if bind.dialect.name == 'sqlite' and bind.execute(
        sa.text("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_stat1'")
    ).first():
        # The database was analyzed: give the planner the new indexes' figures too, or
        # it takes them for far more selective than the analyzed ones.
        for name in (
            'ix_item_prediction_id',
            'ix_item_final_confidence',
            'ix_annotation_user_time',
            'ix_annotation_user_item',
        ):
            bind.execute(sa.text(f'ANALYZE {name}'))


def downgrade():
    op.drop_index('ix_annotation_user_item', table_name='annotation')
    op.drop_index('ix_annotation_user_time', table_name='annotation')
    op.create_index(
        'ix_annotation_user_time', 'annotation', ['user_id', 'project_id', 'updated_at']
    )
    op.drop_index('ix_item_final_confidence', table_name='item')
    op.drop_index('ix_item_prediction_id', table_name='item')
