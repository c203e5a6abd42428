"""Calico's selector language (``app == 'llm' && !has(quarantine)``), parsed, never
evaluated as code: a tokenizer and recursive-descent parser after libcalico-go's
``selector/tokenizer`` and ``selector/parser``, and a three-valued evaluation (a label the
manifests cannot tell leaves the answer undecided).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from typing import Annotated, Any

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError

__all__ = [
    "CalicoSelector",
    "Expr",
    "SelectorError",
    "evaluate_calico_selector",
    "excludes_only",
    "parse_calico_selector",
    "universal",
]


Expr = tuple[Any, ...]

_LABEL = re.compile(r"[a-zA-Z0-9_./-]{1,512}")
_OPERATOR = re.compile(r"contains|starts[ \t]*with|ends[ \t]*with|not[ \t]*in|in")
#: two-character symbols first: "!=" is not "!" then "="
_SYMBOLS = ("==", "!=", "&&", "||", "!", "(", ")", "{", "}", ",")
_OPERATORS = {"con": "contains", "sta": "starts", "end": "ends", "not": "notin"}
#: Calico refuses longer selectors; the nesting bound keeps the parser's recursion shallow
_MAX_SELECTOR = 1024
_MAX_NESTING = 64
_FUNCTION = re.compile(r"(has|all|global)\([ \t]*")


class SelectorError(ValueError):
    """A Calico selector the Calico API server would refuse."""


def _tokens(text: str) -> list[tuple[str, str]]:
    """Calico's selector tokens (libcalico-go ``selector/tokenizer``)."""
    out: list[tuple[str, str]] = []
    i, n = 0, len(text)
    while True:
        while i < n and text[i] in " \t":
            i += 1
        if i >= n:
            out.append(("eof", ""))
            return out
        ch = text[i]
        last = out[-1][0] if out else ""
        symbol = next((sym for sym in _SYMBOLS if text.startswith(sym, i)), None)
        if symbol is not None:
            out.append((symbol, symbol))
            i += len(symbol)
        elif ch in "\"'":
            end = text.find(ch, i + 1)
            if end < 0:
                raise SelectorError("unterminated string")
            out.append(("str", text[i + 1 : end]))
            i = end + 1
        elif last == "label":
            match = _OPERATOR.match(text, i)
            if match is None:
                raise SelectorError(f"expected an operator after label {out[-1][1]!r}")
            word = match.group(0)
            out.append((_OPERATORS.get(word[:3], "in"), word))
            i = match.end()
        else:
            m = _FUNCTION.match(text, i)
            if m is not None:
                i = m.end()
                if m.group(1) == "has":
                    label = _LABEL.match(text, i)
                    if label is None:
                        raise SelectorError("no label name in has(")
                    i = label.end()
                    while i < n and text[i] in " \t":
                        i += 1
                    if i >= n or text[i] != ")":
                        raise SelectorError("no closing ')' after has(")
                    out.append(("has", label.group(0)))
                else:
                    if i >= n or text[i] != ")":
                        raise SelectorError(f"no closing ')' after {m.group(1)}(")
                    out.append((m.group(1), ""))
                i += 1
                continue
            label = _LABEL.match(text, i)
            if label is None:
                raise SelectorError(f"unexpected character {ch!r}")
            out.append(("label", label.group(0)))
            i = label.end()


class _Parser:
    def __init__(self, tokens: list[tuple[str, str]]) -> None:
        self.t = tokens
        self.i = 0
        self.depth = 0

    def peek(self) -> str:
        return self.t[self.i][0]

    def take(self) -> tuple[str, str]:
        tok = self.t[self.i]
        self.i += 1
        return tok

    def or_(self) -> Expr:
        nodes = [self.and_()]
        while self.peek() == "||":
            self.take()
            nodes.append(self.and_())
        return nodes[0] if len(nodes) == 1 else ("or", tuple(nodes))

    def and_(self) -> Expr:
        nodes = [self.op()]
        while self.peek() == "&&":
            self.take()
            nodes.append(self.op())
        return nodes[0] if len(nodes) == 1 else ("and", tuple(nodes))

    def op(self) -> Expr:
        negated = False
        while self.peek() == "!":
            self.take()
            negated = not negated
        kind, value = self.take()
        node: Expr
        if kind in ("has",):
            node = ("has", value)
        elif kind in ("all", "global"):
            node = (kind,)
        elif kind == "label":
            op, _ = self.take()
            if op in ("==", "!=", "contains", "starts", "ends"):
                lit_kind, lit = self.take()
                if lit_kind != "str":
                    raise SelectorError("expected a string literal")
                node = ({"==": "eq", "!=": "ne"}.get(op, op), value, lit)
            elif op in ("in", "notin"):
                if self.take()[0] != "{":
                    raise SelectorError("expected a set literal")
                values: list[str] = []
                while self.peek() == "str":
                    values.append(self.take()[1])
                    if self.peek() != ",":
                        break
                    self.take()
                if self.take()[0] != "}":
                    raise SelectorError("expected }")
                node = (op, value, frozenset(values))
            else:
                raise SelectorError(f"expected == or != after label {value!r}")
        elif kind == "(":
            self.depth += 1
            if self.depth > _MAX_NESTING:
                raise SelectorError(f"parentheses nested deeper than {_MAX_NESTING}")
            node = self.or_()
            self.depth -= 1
            if self.take()[0] != ")":
                raise SelectorError("expected )")
        else:
            raise SelectorError(f"unexpected token {value or kind!r}")
        return ("not", node) if negated else node


@functools.lru_cache(maxsize=4096)
def parse_calico_selector(text: str) -> Expr:
    """A Calico selector expression as a small syntax tree (``("all",)`` when empty).

    Raises :class:`SelectorError` for what Calico's own parser refuses."""
    if len(text) > _MAX_SELECTOR:
        raise SelectorError(f"longer than {_MAX_SELECTOR} characters (Calico's limit)")
    tokens = _tokens(text)
    if tokens[0][0] == "eof":
        return ("all",)
    parser = _Parser(tokens)
    try:
        expr = parser.or_()
    except IndexError as e:  # ran past the end
        raise SelectorError("unexpected end of selector") from e
    if parser.peek() != "eof":
        raise SelectorError(f"unexpected {parser.t[parser.i][1]!r} at the end of the selector")
    return expr


def evaluate_calico_selector(
    expr: Expr, labels: Mapping[str, str], unknown: Callable[[str], bool] = lambda k: False
) -> bool | None:
    """Whether a parsed selector matches ``labels``; ``None`` when the answer depends on a
    label the manifests cannot tell (``unknown(key)``), in three-valued logic."""
    op = expr[0]
    if op == "all":
        return True
    if op == "global":
        return False  # non-namespaced resources (network sets, host endpoints), never a pod
    if op == "not":
        inner = evaluate_calico_selector(expr[1], labels, unknown)
        return None if inner is None else not inner
    if op in ("and", "or"):
        results = [evaluate_calico_selector(e, labels, unknown) for e in expr[1]]
        decided: bool = op == "or"  # True decides an or, False decides an and
        if decided in results:
            return decided
        return None if None in results else not decided
    key = expr[1]
    if unknown(key):
        return None
    value = labels.get(key)
    if op == "has":
        return value is not None
    if op in ("in", "notin"):
        members: frozenset[str] = expr[2]
        inside = value is not None and value in members
        return inside if op == "in" else not inside
    literal: str = expr[2]
    if op == "eq":
        return value == literal
    if op == "ne":
        return value != literal
    if value is None:
        return False
    if op == "contains":
        return literal in value
    if op == "starts":
        return value.startswith(literal)
    return value.endswith(literal)  # "ends"


def _check_selector(value: str | None) -> str | None:
    if value is not None:
        try:
            parse_calico_selector(value)
        except SelectorError as e:
            raise PydanticCustomError(
                "calico_selector", "invalid Calico selector '{value}': {why}",
                {"value": value[:100], "why": str(e)},
            ) from e  # fmt: skip
    return value


CalicoSelector = Annotated[str | None, AfterValidator(_check_selector)]


def universal(text: str | None) -> bool:
    return text is None or parse_calico_selector(text) == ("all",)


def excludes_only(text: str) -> bool:
    """Matches all but some (``!has(x)``, ``x != 'y'``, ``x not in {...}``)."""
    expr = parse_calico_selector(text)
    parts = expr[1] if expr[0] == "and" else (expr,)
    return all(
        p[0] in ("ne", "notin", "all") or (p[0] == "not" and p[1][0] in ("has", "eq", "in"))
        for p in parts
    )
