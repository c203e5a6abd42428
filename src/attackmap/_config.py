"""``.attackmap.yaml``: a repository's defaults for ``analyze`` and the findings it accepts.

Found upward from the working directory (the first ``.attackmap.yaml`` in it or a parent),
or named with ``--config FILE``. Every key is optional; a flag on the command line wins
over the file::

    entries: [external, cluster]        # --entry
    context: deploy/cluster.yaml        # --context (relative to this file)
    fail_on: [T1611, high]              # --fail-on
    accept:                             # findings accepted, each with a reason
      - finding: T1552.001@StatefulSet/default/my-nim
        reason: the NGC key is scoped to pulls and rotated daily
        expires: 2027-03-01             # optional; an expired acceptance fails the run

An accepted finding is left out of the report (every format) and named in its warnings
with its reason: an assumption written down, never a silent drop.
"""

import datetime as dt
import re
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from attackmap.errors import InputError
from attackmap.model._yaml import decode_bytes, format_path, locate, parse_text, read_file

FILE_NAME = ".attackmap.yaml"
_FINDING = re.compile(r"(T\d{4}(?:\.\d{3})?)@([^/\s]+/(?:[^/\s]+/)?[^/\s#]+)")


class Acceptance(BaseModel):
    """A finding accepted: ``technique@Kind/namespace/name``, why, and until when."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    finding: str
    reason: str = Field(min_length=1)
    expires: dt.date | None = None

    @field_validator("finding")
    @classmethod
    def _shape(cls, value: str) -> str:
        if not _FINDING.fullmatch(value):
            raise ValueError("expected TECHNIQUE@Kind/namespace/name, e.g. T1611@Deployment/ml/nim")
        return value

    @property
    def technique(self) -> str:
        return self.finding.partition("@")[0]

    @property
    def workload(self) -> str:
        return self.finding.partition("@")[2]

    def expired(self, today: dt.date) -> bool:
        return self.expires is not None and self.expires < today

    def __str__(self) -> str:
        until = f" until {self.expires}" if self.expires else ""
        return f"{self.finding}{until}: {self.reason}"


class Config(BaseModel):
    """The settings of one ``.attackmap.yaml`` (``path``: where it was read)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    entries: tuple[str, ...] | None = None
    context: str | None = None
    fail_on: tuple[str, ...] | None = None
    accept: tuple[Acceptance, ...] = ()
    path: Path | None = Field(default=None, exclude=True)

    def context_path(self) -> str | None:
        """``context`` relative to the file's directory."""
        if self.context is None or self.path is None:
            return self.context
        return str(self.path.parent / self.context)


def find_config(start: Path | None = None) -> Path | None:
    """The first ``.attackmap.yaml`` in ``start`` (default: the working directory) or above."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; an error names the file, line and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError("no such config file", path=path, field="--config")
    text = decode_bytes(read_file(path), str(path))
    docs = parse_text(text, str(path))
    if len(docs) > 1:
        raise InputError("a config file holds one document", path=path, line=docs[1].line)
    data = docs[0].data if docs else {}
    if not isinstance(data, dict):
        raise InputError("a config file is a mapping", path=path, line=docs[0].line)
    try:
        config = Config.model_validate({k.replace("-", "_"): v for k, v in data.items()})
    except ValidationError as e:
        # a misspelt key first: it explains the missing one that usually comes with it
        errors = sorted(e.errors(include_url=False), key=lambda x: x["type"] != "extra_forbidden")
        error = errors[0]
        parts = tuple(p for p in error["loc"] if isinstance(p, str | int))
        raise InputError(
            error["msg"],
            path=path,
            line=locate(text, 0, parts),
            field=format_path(parts) or None,
            hint="keys: entries, context, fail_on, accept (finding, reason, expires)",
        ) from e
    return config.model_copy(update={"path": path})
