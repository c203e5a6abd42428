"""Identity and provenance: :class:`ObjectRef`, :class:`SourceLocation`, warnings, skips."""

import copy
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict
from pydantic_core import PydanticUndefined

__all__ = [
    "Frozen",
    "LoadWarning",
    "ObjectRef",
    "SkippedObject",
    "SourceLocation",
    "replace",
    "shared",
    "trusted",
]

M = TypeVar("M", bound=BaseModel)


class Frozen(BaseModel):
    """Base of attackmap's own models: immutable, no unknown fields."""

    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


class ObjectRef(Frozen):
    """``Kind/namespace/name`` (``Kind/name`` when cluster-scoped).

    ``component`` distinguishes the pod templates of one object that has several
    (LeaderWorkerSet ``leader``/``worker``, MPIJob ``launcher``/``worker``); it prints
    as ``Kind/ns/name#component``.

    ``origin`` distinguishes two manifests that define one workload differently (both are
    analysed, docs/model.md "Objects defined twice"): the file of each copy (with its
    document when both are in one file); it prints as ``Kind/ns/name (origin)``.
    """

    kind: str
    namespace: str | None
    name: str
    component: str | None = None
    origin: str | None = None

    def __str__(self) -> str:
        base = (
            f"{self.kind}/{self.namespace}/{self.name}"
            if self.namespace
            else f"{self.kind}/{self.name}"
        )
        if self.component:
            base = f"{base}#{self.component}"
        return f"{base} ({self.origin})" if self.origin else base

    def sort_key(self) -> tuple[str, str, str, str, str]:
        return (
            self.kind,
            self.namespace or "",
            self.name,
            self.component or "",
            self.origin or "",
        )

    def __lt__(self, other: Any) -> bool:
        if not isinstance(other, ObjectRef):
            return NotImplemented
        return self.sort_key() < other.sort_key()


class SourceLocation(Frozen):
    """Where an object was read: file (or ``<stdin>``/``<text>``/``<object>``), 0-based
    document index in that file, 1-based line of the document (None when unknown), and the
    Helm template (``# Source:`` comment) when the input was ``helm template`` output."""

    path: str
    document: int
    line: int | None = None
    helm_source: str | None = None

    def __str__(self) -> str:
        return f"{self.path}:{self.line}" if self.line is not None else self.path


class SkippedObject(Frozen):
    """A document attackmap does not analyse, and why (never dropped silently)."""

    kind: str | None
    api_version: str | None
    name: str | None
    namespace: str | None
    source: SourceLocation
    reason: str


class LoadWarning(Frozen):
    """A dangling or suspicious reference (a Service selecting nothing, a missing SA...)."""

    message: str
    ref: ObjectRef | None = None
    source: SourceLocation | None = None

    def __str__(self) -> str:
        where = f"{self.source}: " if self.source else ""
        what = f"{self.ref}: " if self.ref else ""
        return f"{where}{what}{self.message}"


# --------------------------------------------------------------------------- trusted building

_ATOMIC = (str, int, float, bool, bytes, type(None), frozenset)


def _immutable(value: object) -> bool:
    """Safe to share between instances: atoms, tuples of them, frozen models of them."""
    if isinstance(value, tuple):
        return all(_immutable(v) for v in value)
    if isinstance(value, BaseModel):
        return bool(value.model_config.get("frozen")) and all(
            _immutable(v) for v in value.__dict__.values()
        )
    return isinstance(value, _ATOMIC)


class _Shape:
    """Per model class: the defaults ``trusted`` fills in, precomputed once."""

    __slots__ = ("fresh", "frozen", "names", "required", "template")

    def __init__(self, cls: type[BaseModel]) -> None:
        self.template: dict[str, Any] = {}
        self.fresh: list[tuple[str, Any]] = []  # (name, factory) for per-instance defaults
        required: list[str] = []
        for name, field in cls.model_fields.items():
            if field.default_factory is not None:
                self.template[name] = None
                self.fresh.append((name, field.default_factory))
            elif field.default is PydanticUndefined:
                self.template[name] = None
                required.append(name)
            elif _immutable(field.default):
                self.template[name] = field.default
            else:  # a model or mutable default: a copy per instance, as pydantic does
                self.template[name] = None
                self.fresh.append((name, lambda d=field.default: copy.deepcopy(d)))
        self.required = frozenset(required)
        self.names = frozenset(self.template)
        # only a frozen model's fields set may be shared (assignment adds to it otherwise)
        self.frozen = bool(cls.model_config.get("frozen"))


_SHAPES: dict[type[BaseModel], _Shape] = {}

# One ``__pydantic_fields_set__`` per distinct set of field names, shared by every instance
# built here with those names (a set of ~10 names is ~0.5 KB; per instance that was 8 MB
# of the 38 MB a 1,000-workload inventory holds). Sharing is safe: the models are frozen,
# and pydantic copies the set before changing it (``model_copy``/``__copy__``).
_FIELD_SETS: dict[frozenset[str], set[str]] = {}


def shared_fields_set(names: Any) -> set[str]:
    """The shared fields set for ``names`` (any iterable of field names)."""
    key = frozenset(names)
    shared = _FIELD_SETS.get(key)
    if shared is None:
        shared = _FIELD_SETS[key] = set(key)
    return shared


#: (class, field names in call order) -> the fields set of such an instance, once the
#: names have been checked against the class: one lookup per call replaces the checks.
_SIGNATURES: dict[tuple[Any, ...], set[str]] = {}
_set_attr = object.__setattr__
_new = object.__new__  # BaseModel defines no __new__
# the setters of BaseModel's slots: a third faster than ``object.__setattr__`` by name
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__


def _signature(cls: type[BaseModel], shape: _Shape, keys: Any) -> set[str]:
    """Check a new (class, names) signature; the shared fields set of its instances."""
    if not (shape.required <= keys and keys <= shape.names):
        raise TypeError(
            f"{cls.__name__}: missing {sorted(shape.required - keys)}, "
            f"unknown {sorted(keys - shape.names)}"
        )
    return shared_fields_set(keys)


def _instance(cls: type[M], data: dict[str, Any], fields_set: set[str]) -> M:
    """A model instance with these field values and fields set, as pydantic leaves one."""
    obj = _new(cls)
    _set_attr(obj, "__dict__", data)
    _set_fields_set(obj, fields_set)
    _set_extra(obj, None)
    _set_private(obj, None)
    return obj


def trusted(cls: type[M], /, **values: Any) -> M:
    """An instance of ``cls`` from values attackmap's own code has already validated and
    normalised (field names, right types) — what ``cls(**values)`` would give, without
    pydantic re-validating every field (the loader builds ~35 models per workload, the
    analysis ~120 report objects: path steps, paths, fact uses, findings).

    Internal to attackmap (the loader, the fact base's evidence, the analysis' report
    objects and the report reader): models a user constructs are always validated.
    Unknown or missing required fields are still refused (a bug in our code, not bad
    input).
    """
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = _Shape(cls)
    signature = (cls, *values)
    fields_set = _SIGNATURES.get(signature)
    if fields_set is None:
        fields_set = _SIGNATURES[signature] = _signature(cls, shape, values.keys())
    if not shape.frozen:  # a mutable model adds to its own set: never share it
        fields_set = set(fields_set)
    data = shape.template.copy()
    for name, factory in shape.fresh:
        if name not in values:
            data[name] = factory()
    data.update(values)
    return _instance(cls, data, fields_set)


#: Instances built by :func:`shared`, by class and field values; emptied when full (a
#: cache: a long session loading many clusters must not grow without bound).
_SHARED: dict[tuple[Any, ...], Any] = {}
SHARED_MAX = 65_536


def shared(cls: type[M], /, **values: Any) -> M:
    """:func:`trusted` for a small frozen model: equal field values give one instance.

    Workloads repeat the same leaves endlessly (a ``/dev/shm`` mount, ``drop: [ALL]``, an
    ``NGC_API_KEY`` from a Secret, an 8000/TCP port): one lookup instead of a new model,
    and one object in memory instead of one per workload. Frozen models cannot change,
    so sharing is invisible. Only for classes whose field values are hashable and of one
    type per field (``1``, ``1.0`` and ``True`` are equal keys: never mix them in a field).
    """
    key = (cls, *values.items())
    found = _SHARED.get(key)
    if found is None:
        if len(_SHARED) >= SHARED_MAX:
            _SHARED.clear()
        found = _SHARED[key] = trusted(cls, **values)
    return found


def replace(model: M, /, **update: Any) -> M:
    """``model.model_copy(update=update)`` for trusted values, without the generic copy
    machinery (shallow: unchanged fields are shared, as ``model_copy`` shares them)."""
    cls = type(model)
    shape = _SHAPES.get(cls)
    if shape is None:
        shape = _SHAPES[cls] = _Shape(cls)
    if not update.keys() <= shape.names:
        raise TypeError(f"{cls.__name__}: unknown {sorted(update.keys() - shape.names)}")
    data = model.__dict__.copy()
    data.update(update)
    fields_set = model.__pydantic_fields_set__
    if not shape.frozen:
        fields_set = fields_set | update.keys()
    elif not update.keys() <= fields_set:
        fields_set = shared_fields_set(fields_set | update.keys())
    return _instance(cls, data, fields_set)
