"""suggestions: a project's pre-annotation option, an item's imported suggestion, and
what each annotation was shown; PostgreSQL: a GIN index for the item search

Revision ID: 0012_items
Revises: 0008_job_queue
Create Date: 2026-12-01 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_items'
down_revision = '0012_quality'
branch_labels = None
depends_on = None

# Kept in step with labeler.services.items.search (the migration must not import the
# app): the item's string and number values as words, in the simple configuration, kept
# in a stored generated column (a GIN match is rechecked on the row: recomputing the
# words of every candidate row cost 150 ms for a common word at 100k items).
PG_SEARCH_INDEX = 'ix_item_search'
PG_SEARCH_COLUMN = 'search_document'
PG_DOCUMENT = """jsonb_to_tsvector('simple'::regconfig, data::jsonb, '["string", "numeric"]'::jsonb)"""


def upgrade():
    # Plain ADD COLUMNs: SQLite keeps the item table (and its search triggers).
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(
            sa.Column('suggestions', sa.String(length=16), server_default='off', nullable=False)
        )
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_label', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('suggestion_value', sa.JSON(none_as_null=True), nullable=True))
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('suggestion_label', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('suggestion_source', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('suggestion_accepted', sa.Boolean(), nullable=True))
    if op.get_bind().dialect.name == 'postgresql':  # SQLite searches its FTS5 table (0011)
        op.execute(
            f"ALTER TABLE item ADD COLUMN {PG_SEARCH_COLUMN} tsvector "
            f"GENERATED ALWAYS AS ({PG_DOCUMENT}) STORED"
        )
        op.execute(f"CREATE INDEX {PG_SEARCH_INDEX} ON item USING gin ({PG_SEARCH_COLUMN})")


def downgrade():
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(f"DROP INDEX IF EXISTS {PG_SEARCH_INDEX}")
        op.execute(f"ALTER TABLE item DROP COLUMN IF EXISTS {PG_SEARCH_COLUMN}")
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.drop_column('suggestion_accepted')
        batch_op.drop_column('suggestion_source')
        batch_op.drop_column('suggestion_label')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('suggestion_value')
        batch_op.drop_column('suggestion_label')
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('suggestions')
