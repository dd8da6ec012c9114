"""item browser: comments on items, the model's opinion per item, full-text search

Revision ID: 0011_item_comments
Revises: 0009_webhooks
Create Date: 2026-12-01 09:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0011_item_comments'
down_revision = '0009_webhooks'
branch_labels = None
depends_on = None

# Kept in step with labeler.services.items.search (the migration must not import the app).
SEARCH_TABLE = 'item_search'
# What is indexed: the values of the item's fields, not their names.
BODY = "(SELECT group_concat(value, ' ') FROM json_each({row}.data))"


def upgrade():
    op.create_table('item_comment',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), server_default='question', nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('reply_to', sa.Integer(), nullable=True),
    sa.Column('is_open', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['item_id'], ['item.id'], name=op.f('fk_item_comment_item_id_item')),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_item_comment_project_id_project')),
    sa.ForeignKeyConstraint(['reply_to'], ['item_comment.id'], name=op.f('fk_item_comment_reply_to_item_comment')),
    sa.ForeignKeyConstraint(['user_id'], ['user.id'], name=op.f('fk_item_comment_user_id_user')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_item_comment'))
    )
    with op.batch_alter_table('item_comment', schema=None) as batch_op:
        batch_op.create_index('ix_item_comment_item', ['item_id', 'id'], unique=False)
        batch_op.create_index('ix_item_comment_open', ['project_id', 'is_open'], unique=False)

    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.add_column(sa.Column('predicted_label', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('predicted_confidence', sa.Double(), nullable=True))
        batch_op.create_index('ix_item_prediction', ['project_id', 'predicted_label', 'predicted_confidence'], unique=False)
        batch_op.create_index('ix_item_predicted_confidence', ['project_id', 'predicted_confidence'], unique=False)
        batch_op.create_index('ix_item_consensus_confidence', ['project_id', 'consensus_confidence', 'final_label'], unique=False)
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.create_index('ix_annotation_user_time', ['user_id', 'project_id', 'updated_at'], unique=False)

    if op.get_bind().dialect.name == 'sqlite':
        _create_sqlite_search()


def _create_sqlite_search():
    # Contentless: the index holds tokens and rowids (item ids), not a second copy of
    # the data; deleting an entry needs the text it was built from, which the
    # triggers rebuild from the old row.
    op.execute(
        f"CREATE VIRTUAL TABLE {SEARCH_TABLE} USING fts5(body, content='', "
        "tokenize='unicode61 remove_diacritics 2')"
    )
    op.execute(f"INSERT INTO {SEARCH_TABLE}(rowid, body) SELECT id, {BODY.format(row='item')} FROM item")
    op.execute(
        f"CREATE TRIGGER item_search_insert AFTER INSERT ON item BEGIN "
        f"INSERT INTO {SEARCH_TABLE}(rowid, body) VALUES (new.id, {BODY.format(row='new')}); END"
    )
    op.execute(
        f"CREATE TRIGGER item_search_delete AFTER DELETE ON item BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, body) "
        f"VALUES ('delete', old.id, {BODY.format(row='old')}); END"
    )
    op.execute(
        f"CREATE TRIGGER item_search_update AFTER UPDATE OF data ON item BEGIN "
        f"INSERT INTO {SEARCH_TABLE}({SEARCH_TABLE}, rowid, body) "
        f"VALUES ('delete', old.id, {BODY.format(row='old')}); "
        f"INSERT INTO {SEARCH_TABLE}(rowid, body) VALUES (new.id, {BODY.format(row='new')}); END"
    )


def downgrade():
    if op.get_bind().dialect.name == 'sqlite':
        for trigger in ('item_search_insert', 'item_search_delete', 'item_search_update'):
            op.execute(f"DROP TRIGGER IF EXISTS {trigger}")
        op.execute(f"DROP TABLE IF EXISTS {SEARCH_TABLE}")
    with op.batch_alter_table('annotation', schema=None) as batch_op:
        batch_op.drop_index('ix_annotation_user_time')
    with op.batch_alter_table('item', schema=None) as batch_op:
        batch_op.drop_index('ix_item_consensus_confidence')
        batch_op.drop_index('ix_item_predicted_confidence')
        batch_op.drop_index('ix_item_prediction')
        batch_op.drop_column('predicted_confidence')
        batch_op.drop_column('predicted_label')
    with op.batch_alter_table('item_comment', schema=None) as batch_op:
        batch_op.drop_index('ix_item_comment_open')
        batch_op.drop_index('ix_item_comment_item')
    op.drop_table('item_comment')
