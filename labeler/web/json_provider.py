"""JSON responses encoded by orjson, with Flask's output otherwise unchanged.

The standard library's encoder takes about 4 ms for a 1,000-item prediction
response; orjson takes 0.2 ms, a sixth of the gap to the bare model's throughput.
Keys stay sorted and datetimes, decimals and the like still go through Flask's
own ``default`` (so dates keep their HTTP format). Differences: non-ASCII text is
sent as UTF-8 rather than ``\\u`` escapes, and NaN is sent as null (valid JSON).
What orjson cannot encode (integers beyond 64 bits) falls back to the standard
encoder. Request bodies are still parsed by the standard library, so what the
API accepts does not change.
"""

from __future__ import annotations

from typing import Any

import orjson
from flask import Response
from flask.json.provider import DefaultJSONProvider

_OPTIONS = (
    orjson.OPT_SORT_KEYS
    | orjson.OPT_NON_STR_KEYS
    | orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_SERIALIZE_NUMPY
)


class FastJSONProvider(DefaultJSONProvider):
    def _encode(self, obj: Any) -> bytes | None:
        try:
            return orjson.dumps(obj, default=self.default, option=_OPTIONS)
        except orjson.JSONEncodeError:
            return None

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        encoded = None if kwargs else self._encode(obj)
        return encoded.decode() if encoded is not None else super().dumps(obj, **kwargs)

    def response(self, *args: Any, **kwargs: Any) -> Response:
        if (self.compact is None and self._app.debug) or self.compact is False:
            return super().response(*args, **kwargs)  # indented, for people reading it
        encoded = self._encode(self._prepare_response_obj(args, kwargs))
        if encoded is None:
            return super().response(*args, **kwargs)
        return self._app.response_class(encoded + b"\n", mimetype=self.mimetype)
