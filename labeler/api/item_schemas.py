"""OpenAPI shapes of the item browser, one item's record, comments and bulk actions."""

from __future__ import annotations

from marshmallow import Schema, fields, validate

from labeler.api.schemas import Field
from labeler.models import MAX_ROW_ID


class BrowseRow(Schema):
    id = fields.Integer()
    external_id = fields.String()
    split = fields.String()
    preview = fields.String(metadata={"description": "the start of the item's first text"})
    image_url = fields.String(allow_none=True)
    my_label = fields.String(allow_none=True, metadata={"description": "the caller's own label"})
    n_annotations = fields.Integer(metadata={"description": "reviewers and admins only"})
    status = fields.List(fields.String(), metadata={"description": "reviewers and admins only"})
    final_label = fields.String(allow_none=True)
    consensus_label = fields.String(allow_none=True)
    consensus_confidence = fields.Float(allow_none=True)
    predicted_label = fields.String(allow_none=True)
    predicted_confidence = fields.Float(allow_none=True)


class BrowsePage(Schema):
    items = fields.List(fields.Nested(BrowseRow))
    next_after = fields.String(allow_none=True, metadata={"description": "pass as ?after="})


class Revision(Schema):
    label = fields.String()
    labeled_at = fields.String()
    replaced_at = fields.String()


class LabelHistory(Schema):
    annotator = fields.String()
    label = fields.String()
    created_at = fields.String()
    updated_at = fields.String()
    guideline_version = fields.Integer(allow_none=True)
    seconds = fields.Float(allow_none=True)
    revisions = fields.List(fields.Nested(Revision))


class Decision(Schema):
    action = fields.String()
    label = fields.String(allow_none=True)
    note = fields.String()
    reviewer = fields.String()
    created_at = fields.String()


class Comment(Schema):
    id = fields.Integer()
    author = fields.String()
    kind = fields.String(metadata={"description": "question | flag | answer | note"})
    body = fields.String()
    open = fields.Boolean(metadata={"description": "a question or flag not yet answered"})
    created_at = fields.String()


class Comments(Schema):
    comments = fields.List(fields.Nested(Comment))


class CommentIn(Schema):
    kind = fields.String(
        required=True, validate=validate.OneOf(("question", "flag", "answer", "note"))
    )
    body = fields.String(required=True, validate=validate.Length(1, 4000))
    send_to_review = fields.Boolean(
        metadata={"description": "a flag only: send the item to review"}
    )


class ItemRecord(Schema):
    id = fields.Integer()
    external_id = fields.String()
    split = fields.String()
    fields_ = fields.List(fields.Nested(Field), data_key="fields")
    labels = fields.List(fields.Nested(LabelHistory))
    consensus = fields.Dict(allow_none=True, metadata={"description": "reviewers and admins only"})
    decisions = fields.List(fields.Nested(Decision))
    comments = fields.List(fields.Nested(Comment))


class BulkIn(Schema):
    action = fields.String(
        required=True,
        validate=validate.OneOf(("send_to_review", "request_label", "mark_gold", "unmark_gold")),
    )
    items = fields.List(
        fields.Integer(strict=True, validate=validate.Range(1, MAX_ROW_ID)),
        required=True,
        validate=validate.Length(1, 500),
    )


class BulkResult(Schema):
    message = fields.String()
    items = fields.List(fields.Integer())


class OpenComment(Comment):
    item = fields.Integer()
    external_id = fields.String()


class OpenComments(Schema):
    comments = fields.List(fields.Nested(OpenComment))
    total = fields.Integer()


class Neighbour(Schema):
    id = fields.Integer()
    external_id = fields.String()
    preview = fields.String()
    similarity = fields.Float(metadata={"description": "cosine similarity, -1..1"})
    final_label = fields.String(allow_none=True)


class Similar(Schema):
    items = fields.List(fields.Nested(Neighbour))


class SuggestionGroup(Schema):
    labels = fields.Integer()
    mean_seconds = fields.Float(allow_none=True)
    accepted = fields.Float(
        allow_none=True, metadata={"description": "share of labels equal to the suggestion, 0..1"}
    )
    final_agreement = fields.Float(
        allow_none=True,
        metadata={"description": "share of labels equal to their item's final label, 0..1"},
    )
    with_final = fields.Integer(metadata={"description": "labels whose item has a final label"})


class SuggestionReport(Schema):
    mode = fields.String(metadata={"description": "off | model | imported | any"})
    with_suggestion = fields.Nested(SuggestionGroup)
    without_suggestion = fields.Nested(SuggestionGroup)
