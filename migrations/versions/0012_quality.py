"""label quality: model versions' out-of-sample probabilities; project.relabel_or_new

Revision ID: 0012_quality
Revises: 0008_job_queue
Create Date: 2026-12-01 12:45:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0012_quality'
down_revision = '0012_perf'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('model_probabilities',
    sa.Column('model_version_id', sa.Integer(), nullable=False),
    sa.Column('project_id', sa.Integer(), nullable=False),
    sa.Column('classes', sa.JSON(), nullable=False),
    sa.Column('item_ids', sa.LargeBinary(), nullable=False),
    sa.Column('probabilities', sa.LargeBinary(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['model_version_id'], ['model_version.id'], name=op.f('fk_model_probabilities_model_version_id_model_version'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['project_id'], ['project.id'], name=op.f('fk_model_probabilities_project_id_project')),
    sa.PrimaryKeyConstraint('model_version_id', name=op.f('pk_model_probabilities'))
    )
    with op.batch_alter_table('model_probabilities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_model_probabilities_project_id'), ['project_id'], unique=False)

    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.add_column(sa.Column('relabel_or_new', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('project', schema=None) as batch_op:
        batch_op.drop_column('relabel_or_new')

    with op.batch_alter_table('model_probabilities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_model_probabilities_project_id'))

    op.drop_table('model_probabilities')
