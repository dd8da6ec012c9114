"""item.predicted_version_id: which model version wrote the item's predicted label, so
the form's model suggestion reads the stored opinion of the serving champion instead of
running the model in GET /next

Revision ID: 0013_reqpath
Revises: 0012_items
Create Date: 2026-12-01 16:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013_reqpath'
down_revision = '0012_items'
branch_labels = None
depends_on = None


def upgrade():
    # A plain ADD COLUMN (no foreign key): SQLite keeps the item table and its triggers.
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('predicted_version_id', sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_column('predicted_version_id')
