"""Which item fields the model reads, and the frame it reads them from.

Pure core: pandas only.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

_INPUT_KINDS = ("text", "numeric", "categorical")


@dataclass(frozen=True)
class ModelInputs:
    """Which item fields feed the model, by kind; a field may appear under one kind only.

    JSON shape (``to_dict``/``from_dict``): ``{"text": [...], "numeric": [...],
    "categorical": [...]}``.
    """

    text: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    categorical: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        seen: dict[str, str] = {}
        for kind in _INPUT_KINDS:
            names = getattr(self, kind)
            if isinstance(names, str) or not isinstance(names, tuple | list):
                raise ValueError(f"model inputs: {kind!r} must be a list of field names")
            object.__setattr__(self, kind, tuple(names))
            for name in names:
                if not isinstance(name, str) or not name.strip():
                    raise ValueError(f"model inputs: {kind!r} has a bad field name {name!r}")
                if name in seen:
                    raise ValueError(
                        f"model inputs: field {name!r} listed under {seen[name]!r} and {kind!r}"
                    )
                seen[name] = kind

    @property
    def fields(self) -> tuple[str, ...]:
        """All field names, text first, then numeric, then categorical."""
        return self.text + self.numeric + self.categorical

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelInputs:
        """Read the JSON shape; missing kinds are empty, unknown keys are an error."""
        if not isinstance(data, Mapping):
            raise ValueError("model inputs: expected an object with text/numeric/categorical")
        unknown = sorted(str(key) for key in data if key not in _INPUT_KINDS)
        if unknown:
            raise ValueError(f"model inputs: unknown key(s) {unknown}; use {list(_INPUT_KINDS)}")
        return cls(**{kind: data.get(kind) or () for kind in _INPUT_KINDS})

    def to_dict(self) -> dict[str, list[str]]:
        """The JSON shape, every kind present."""
        return {kind: list(getattr(self, kind)) for kind in _INPUT_KINDS}


def prepare_frame(X: pd.DataFrame, inputs: Mapping[str, Sequence[str]]) -> pd.DataFrame:
    """Coerce the model's columns: text to str (missing -> ""), numeric to float
    (unparseable -> NaN, imputed later), categorical to str (missing -> "").

    Runs as the pipeline's first step, so a served model gets the same treatment.
    """
    if not isinstance(X, pd.DataFrame):
        raise ValueError(f"model input must be a pandas DataFrame, got {type(X).__name__}")
    wanted = [name for kind in _INPUT_KINDS for name in inputs.get(kind, ())]
    missing = [name for name in wanted if name not in X.columns]
    if missing:
        raise ValueError(f"model input lacks field(s) {missing}")
    out: dict[str, pd.Series] = {}
    for name in inputs.get("text", ()):
        out[name] = X[name].fillna("").astype(str)
    for name in inputs.get("numeric", ()):
        out[name] = pd.to_numeric(X[name], errors="coerce").astype(float)
    for name in inputs.get("categorical", ()):
        out[name] = X[name].astype(object).where(X[name].notna(), "").astype(str)
    return pd.DataFrame(out, index=X.index)
