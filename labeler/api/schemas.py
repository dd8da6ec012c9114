"""OpenAPI shapes of the API (marshmallow), for the generated document.

Handlers validate their own input so that errors name the field in labeler's
``{"error", "detail"}`` form; these schemas describe requests and responses.
"""

from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from labeler.core.kinds import KINDS

# Schema-level JSON Schema keywords (anyOf: "one of these fields is required", ...)
# that a marshmallow schema cannot carry, by component name: merged into the document's
# components when it is built (labeler.api.blueprint.OpenApi.state_schema_rules).
SCHEMA_RULES: dict[str, dict[str, Any]] = {}


def states(**keywords: Any):
    """Say in the document what the handler requires of the body as a whole."""

    def wrap(cls: type[Schema]) -> type[Schema]:
        SCHEMA_RULES[cls.__name__] = keywords
        return cls

    return wrap


def one_field_of(*names: str) -> list[dict[str, Any]]:
    """anyOf: at least one of ``names`` is sent."""
    return [{"required": [name]} for name in names]


class Error(Schema):
    error = fields.String(required=True, metadata={"description": "short reason"})
    detail = fields.Raw(allow_none=True, metadata={"description": "field, line/column, …"})
    retry_after = fields.Integer(
        metadata={"description": "503 only: seconds to wait before trying again"}
    )


_NOT_BLANK = r"\S"  # the server strips names: one that is only spaces is empty


class Label(Schema):
    name = fields.String(
        required=True, validate=validate.Length(1, 120), metadata={"pattern": _NOT_BLANK}
    )
    hotkey = fields.String(
        allow_none=True,
        validate=validate.Length(1, 1),
        # s, b and ? are the form's skip, back and help (RESERVED_KEYS, in any case)
        metadata={"pattern": r"^[^sSbB?]", "description": "one key; not s, b or ?"},
    )
    description = fields.String()


_VALUE = (
    "the answer in the project's task kind: a label name (single_label), a list of "
    "label names (multi_label), a number on the scale (rating)..."
)


class Project(Schema):
    id = fields.Integer()
    name = fields.String()
    task_kind = fields.String(metadata={"description": " | ".join(KINDS)})
    task_settings = fields.Dict(metadata={"description": "the task kind's own settings"})
    label_scale = fields.String(metadata={"description": "nominal | ordinal | interval"})
    labels = fields.List(fields.Nested(Label))
    guidelines = fields.String()
    annotations_per_item = fields.Integer()
    test_fraction = fields.Float()
    model_inputs = fields.Dict()
    n_items = fields.Integer()
    coverage = fields.Float(metadata={"description": "share of the k-labels goal, 0..1"})
    role = fields.String(allow_none=True)


class ProjectList(Schema):
    projects = fields.List(fields.Nested(Project))


@states(
    anyOf=[  # a label set, unless the kind needs none (its answers name no labels)
        {
            "required": ["task_kind"],
            "properties": {
                "task_kind": {"enum": [name for name, k in KINDS.items() if not k.uses_labels]}
            },
        },
        {"required": ["labels"], "properties": {"labels": {"minItems": 1}}},
    ]
)
class ProjectCreate(Schema):
    name = fields.String(
        required=True, validate=validate.Length(1, 120), metadata={"pattern": _NOT_BLANK}
    )
    labels = fields.List(
        fields.Nested(Label),
        metadata={"description": "the label set; required unless the kind needs none (pairwise)"},
    )
    guidelines = fields.String()
    annotations_per_item = fields.Integer(validate=validate.Range(1, 50))
    test_fraction = fields.Float(validate=validate.Range(0, 0.99))
    task_kind = fields.String(
        validate=validate.OneOf(list(KINDS)), metadata={"description": "fixed at creation"}
    )
    task_settings = fields.Dict()
    label_scale = fields.String(
        validate=validate.OneOf(["nominal", "ordinal", "interval"]),
        metadata={"description": "how agreement reads the labels; a rating's scale type"},
    )


@states(
    allOf=[
        {
            "anyOf": [  # the mapping maps at least one column to a field
                *(
                    {"required": [name], "properties": {name: {"minItems": 1}}}
                    for name in ("text", "numeric", "categorical", "meta")
                ),
                {
                    "required": ["image"],
                    "properties": {"image": {"type": "string", "minLength": 1}},
                },
            ]
        },
        {
            "anyOf": [  # an annotator column needs a label column
                {
                    "not": {
                        "required": ["annotator"],
                        "properties": {"annotator": {"type": "string", "minLength": 1}},
                    }
                },
                {
                    "required": ["label"],
                    "properties": {"label": {"type": "string", "minLength": 1}},
                },
            ]
        },
    ]
)
class Mapping(Schema):
    id = fields.String(allow_none=True)
    text = fields.List(fields.String())
    image = fields.String(allow_none=True)
    numeric = fields.List(fields.String())
    categorical = fields.List(fields.String())
    meta = fields.List(fields.String())
    label = fields.String(allow_none=True)
    annotator = fields.String(allow_none=True)
    unescape_formulas = fields.Boolean()
    gold = fields.String(allow_none=True)
    suggestion = fields.String(
        allow_none=True,
        metadata={"description": "pre-annotations shown in the form (imported suggestions)"},
    )
    duplicates = fields.String(validate=validate.OneOf(("keep", "skip", "link")))
    add_annotators = fields.Boolean(
        metadata={
            "description": "make the annotators the file names members of the project "
            "(without it, a name that is not a member is refused)"
        }
    )


class ImportBody(Schema):
    mapping = fields.Nested(Mapping, required=True)
    items = fields.List(fields.Dict(), required=True, metadata={"minItems": 1})


class ImportReport(Schema):
    rows = fields.Integer()
    added = fields.Integer()
    updated = fields.Integer()
    skipped = fields.Integer()
    duplicate_rows = fields.Integer()
    annotations_added = fields.Integer()
    annotations_changed = fields.Integer()
    annotations_unchanged = fields.Integer()
    duplicates_found = fields.Integer()
    duplicates_skipped = fields.Integer()
    duplicates_linked = fields.Integer()
    gold_marked = fields.Integer()
    suggestions_imported = fields.Integer()
    annotators_created = fields.List(fields.String())
    members_added = fields.List(fields.String())
    messages = fields.List(fields.String())


class ItemRow(Schema):
    id = fields.Integer()
    external_id = fields.String()
    data = fields.Dict()
    split = fields.String()
    n_annotations = fields.Integer()


class ItemsPage(Schema):
    items = fields.List(fields.Nested(ItemRow))
    next_after = fields.Integer(allow_none=True)


class Field(Schema):
    name = fields.String()
    kind = fields.String(metadata={"description": "text | field"})
    value = fields.Raw(allow_none=True)


class Suggestion(Schema):
    value = fields.Raw(required=True, metadata={"description": _VALUE})
    source = fields.String(
        validate=validate.OneOf(("model", "imported")),
        metadata={"description": "model: the champion's prediction; imported: the import's"},
    )


class Item(Schema):
    id = fields.Integer()
    external_id = fields.String()
    fields_ = fields.List(fields.Nested(Field), data_key="fields")
    image_url = fields.String(allow_none=True)
    presentation = fields.Raw(
        allow_none=True,
        metadata={
            "description": "the kind's layout of the item for you, e.g. pairwise: "
            "{layout: pair, shown: AB|BA, prompt, context, left, right}; null: show the fields"
        },
    )
    my_label = fields.String(allow_none=True, metadata={"description": "your answer's key"})
    my_value = fields.Raw(allow_none=True, metadata={"description": _VALUE})
    suggestion = fields.Nested(
        Suggestion,
        allow_none=True,
        metadata={"description": "shown pre-selected when the project asks for suggestions"},
    )


class Progress(Schema):
    session_labeled = fields.Integer()
    coverage = fields.Float()
    filled_slots = fields.Integer()
    goal = fields.Integer()


class NextItems(Schema):
    items = fields.List(fields.Nested(Item))
    progress = fields.Nested(Progress)


@states(anyOf=one_field_of("label", "value"))
class AnnotationIn(Schema):
    label = fields.String(metadata={"description": "single_label: the label (or use value)"})
    value = fields.Raw(metadata={"description": _VALUE})
    seconds = fields.Float(allow_none=True, metadata={"description": "time spent, seconds"})
    suggestion = fields.Nested(
        Suggestion,
        allow_none=True,
        metadata={"description": "the suggestion the form showed (as next gave it), if any"},
    )
    next = fields.Integer(
        validate=validate.Range(0, 5),
        metadata={"description": "also lease this many next items (0-5), answered in next"},
    )


class AnnotationResult(Schema):
    outcome = fields.String(metadata={"description": "created | changed | unchanged"})
    label = fields.String(metadata={"description": "the answer's key"})
    value = fields.Raw(metadata={"description": _VALUE})
    item = fields.Integer()
    progress = fields.Nested(Progress)
    next = fields.Nested(
        NextItems, metadata={"description": "the items leased when the body asked next"}
    )


class SkipResult(Schema):
    outcome = fields.String()
    item = fields.Integer()


class MyAnnotation(Schema):
    item = fields.Integer()
    label = fields.String()
    updated_at = fields.String()


class MyAnnotations(Schema):
    annotations = fields.List(fields.Nested(MyAnnotation))


class JobOut(Schema):
    id = fields.Integer()
    kind = fields.String()
    status = fields.String()
    progress = fields.Float()
    message = fields.String()
    error = fields.String(allow_none=True)
    result = fields.Dict()
    project_id = fields.Integer(allow_none=True)
    created_at = fields.String()
    started_at = fields.String(allow_none=True)
    finished_at = fields.String(allow_none=True)


def json_body(schema: type[Schema]) -> dict[str, Any]:
    """An OpenAPI requestBody pointing at ``schema`` (documented, validated by the handler)."""
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def query(*params: tuple[str, Any, str]) -> list[dict[str, Any]]:
    """OpenAPI query parameters from (name, type or JSON schema, description) triples."""
    return [
        {
            "in": "query",
            "name": name,
            "required": False,
            "schema": kind if isinstance(kind, dict) else {"type": kind},
            "description": text,
        }
        for name, kind, text in params
    ]


def integer(low: int, high: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": low, "maximum": high}


def one_of(*values: str) -> dict[str, Any]:
    return {"type": "string", "enum": list(values)}


ERROR_TEXT = {
    400: "CSRF check failed",
    401: "no valid bearer token",
    403: "your role on the project is too low",
    404: "not found or not yours to see",
    409: "conflict",
    422: "bad input: the detail names the field",
}
