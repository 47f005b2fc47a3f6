"""A small GraphQL reader: lexer, parser and variable substitution (no schema).

Pure functions; any thread. Covers the executable part of the GraphQL spec
(October 2021 edition, §2): operations with variables and directives, fields with
aliases and arguments, fragments and inline fragments, every literal kind, block
strings and comments. `_gateway_graphql` supplies the schema and executes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any


class GraphQLSyntaxError(ValueError):
    """The document does not parse (answered as GRAPHQL_PARSE_FAILED)."""


@dataclass(frozen=True, slots=True)
class Variable:
    name: str


@dataclass(frozen=True, slots=True)
class EnumValue:
    name: str


@dataclass(slots=True)
class Field:
    name: str
    alias: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    selections: list[Any] | None = None

    @property
    def key(self) -> str:
        return self.alias or self.name


@dataclass(slots=True)
class FragmentSpread:
    name: str
    directives: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


@dataclass(slots=True)
class InlineFragment:
    type_condition: str | None
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Any]


@dataclass(slots=True)
class VariableDefinition:
    name: str
    type: str               # as written, e.g. "[ID!]!"
    default: Any = None
    has_default: bool = False

    @property
    def required(self) -> bool:
        return self.type.endswith("!") and not self.has_default


@dataclass(slots=True)
class Operation:
    kind: str               # query | mutation | subscription
    name: str | None
    variables: list[VariableDefinition]
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Any]


@dataclass(slots=True)
class Fragment:
    name: str
    type_condition: str
    directives: list[tuple[str, dict[str, Any]]]
    selections: list[Any]


@dataclass(slots=True)
class Document:
    operations: list[Operation]
    fragments: dict[str, Fragment]


_TOKEN = re.compile(r"""
    (?P<ignored>[\s,\ufeff]+|\#[^\n\r]*)
  | (?P<spread>\.\.\.)
  | (?P<punct>[!$&()\:=@\[\]{}|])
  | (?P<name>[_A-Za-z][_0-9A-Za-z]*)
  | (?P<number>-?(?:0|[1-9][0-9]*)(?P<frac>\.[0-9]+)?(?P<exp>[eE][+-]?[0-9]+)?)
  | (?P<block>\"\"\"(?:\\\"\"\"|[^"]|"(?!""))*\"\"\")
  | (?P<string>"(?:\\["\\/bfnrt]|\\u[0-9A-Fa-f]{4}|[^"\\\n\r])*")
""", re.VERBOSE)

_OPERATION_KINDS = ("query", "mutation", "subscription")
_ESCAPES = {'"': '"', "\\": "\\", "/": "/", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t"}


def _string_value(raw: str) -> str:
    body = raw[1:-1]
    def unescape(m: re.Match[str]) -> str:
        esc = m.group(1)
        return chr(int(esc[1:], 16)) if esc[0] == "u" else _ESCAPES[esc]
    return re.sub(r'\\(u[0-9A-Fa-f]{4}|["\\/bfnrt])', unescape, body)


def _block_string_value(raw: str) -> str:
    """BlockStringValue (spec §2.9.4): common indentation and blank edge lines removed."""
    lines = raw[3:-3].replace('\\"""', '"""').splitlines()
    indents = [len(ln) - len(ln.lstrip(" \t")) for ln in lines[1:] if ln.strip(" \t")]
    common = min(indents, default=0)
    lines = [lines[0], *(ln[common:] for ln in lines[1:])] if lines else []
    while lines and not lines[0].strip(" \t"):
        lines.pop(0)
    while lines and not lines[-1].strip(" \t"):
        lines.pop()
    return "\n".join(lines)


def _tokens(source: str) -> list[tuple[str, Any, int]]:
    out: list[tuple[str, Any, int]] = []
    pos = 0
    while pos < len(source):
        m = _TOKEN.match(source, pos)
        if m is None:
            raise GraphQLSyntaxError(f"Syntax Error: Unexpected character {source[pos]!r} at offset {pos}.")
        kind = m.lastgroup
        text = m.group()
        if kind in ("frac", "exp"):      # lastgroup reports the innermost group
            kind = "number"
        if kind == "number":
            value: Any = float(text) if (m.group("frac") or m.group("exp")) else int(text)
            out.append(("float" if isinstance(value, float) else "int", value, pos))
        elif kind == "string":
            out.append(("string", _string_value(text), pos))
        elif kind == "block":
            out.append(("string", _block_string_value(text), pos))
        elif kind != "ignored":
            out.append((kind, text, pos))
        pos = m.end()
    out.append(("eof", None, pos))
    return out


class _Parser:
    def __init__(self, source: str) -> None:
        self.toks = _tokens(source)
        self.i = 0

    # token helpers
    def peek(self, kind: str, value: Any = None) -> bool:
        k, v, _ = self.toks[self.i]
        return k == kind and (value is None or v == value)

    def expect(self, kind: str, value: Any = None) -> Any:
        k, v, pos = self.toks[self.i]
        if k != kind or (value is not None and v != value):
            want = value if value is not None else kind
            got = "<EOF>" if k == "eof" else repr(v)
            raise GraphQLSyntaxError(f"Syntax Error: Expected {want}, found {got} at offset {pos}.")
        self.i += 1
        return v

    def skip(self, kind: str, value: Any = None) -> bool:
        if self.peek(kind, value):
            self.i += 1
            return True
        return False

    # grammar
    def document(self) -> Document:
        ops: list[Operation] = []
        frags: dict[str, Fragment] = {}
        while not self.peek("eof"):
            if self.peek("punct", "{"):
                ops.append(Operation("query", None, [], [], self.selection_set()))
            elif self.peek("name", "fragment"):
                self.i += 1
                name = self.expect("name")
                self.expect("name", "on")
                frags[name] = Fragment(name, self.expect("name"), self.directives(), self.selection_set())
            elif self.toks[self.i][0] == "name" and self.toks[self.i][1] in _OPERATION_KINDS:
                kind = self.expect("name")
                name = self.expect("name") if self.peek("name") else None
                variables = self.variable_definitions()
                ops.append(Operation(kind, name, variables, self.directives(), self.selection_set()))
            else:
                _, v, pos = self.toks[self.i]
                raise GraphQLSyntaxError(f"Syntax Error: Unexpected {v!r} at offset {pos}.")
        if not ops:
            raise GraphQLSyntaxError("Syntax Error: the document has no operation.")
        return Document(ops, frags)

    def variable_definitions(self) -> list[VariableDefinition]:
        out: list[VariableDefinition] = []
        if self.skip("punct", "("):
            while not self.skip("punct", ")"):
                self.expect("punct", "$")
                name = self.expect("name")
                self.expect("punct", ":")
                vdef = VariableDefinition(name, self.type_ref())
                if self.skip("punct", "="):
                    vdef.default, vdef.has_default = self.value(const=True), True
                self.directives()
                out.append(vdef)
        return out

    def type_ref(self) -> str:
        if self.skip("punct", "["):
            inner = self.type_ref()
            self.expect("punct", "]")
            text = f"[{inner}]"
        else:
            text = self.expect("name")
        return text + "!" if self.skip("punct", "!") else text

    def directives(self) -> list[tuple[str, dict[str, Any]]]:
        out = []
        while self.skip("punct", "@"):
            out.append((self.expect("name"), self.arguments()))
        return out

    def arguments(self) -> dict[str, Any]:
        args: dict[str, Any] = {}
        if self.skip("punct", "("):
            while not self.skip("punct", ")"):
                name = self.expect("name")
                self.expect("punct", ":")
                args[name] = self.value()
        return args

    def selection_set(self) -> list[Any]:
        self.expect("punct", "{")
        out: list[Any] = []
        while not self.skip("punct", "}"):
            if self.skip("spread"):
                if self.peek("name") and not self.peek("name", "on"):
                    out.append(FragmentSpread(self.expect("name"), self.directives()))
                else:
                    cond = None
                    if self.skip("name", "on"):
                        cond = self.expect("name")
                    out.append(InlineFragment(cond, self.directives(), self.selection_set()))
                continue
            name = self.expect("name")
            alias = None
            if self.skip("punct", ":"):
                alias, name = name, self.expect("name")
            fld = Field(name, alias, self.arguments(), self.directives())
            if self.peek("punct", "{"):
                fld.selections = self.selection_set()
            out.append(fld)
        return out

    def value(self, const: bool = False) -> Any:
        kind, v, pos = self.toks[self.i]
        if kind == "punct" and v == "$" and not const:
            self.i += 1
            return Variable(self.expect("name"))
        if kind in ("int", "float", "string"):
            self.i += 1
            return v
        if kind == "name":
            self.i += 1
            literals = {"true": True, "false": False, "null": None}
            return literals[v] if v in literals else EnumValue(v)
        if kind == "punct" and v == "[":
            self.i += 1
            items = []
            while not self.skip("punct", "]"):
                items.append(self.value(const))
            return items
        if kind == "punct" and v == "{":
            self.i += 1
            obj: dict[str, Any] = {}
            while not self.skip("punct", "}"):
                name = self.expect("name")
                self.expect("punct", ":")
                obj[name] = self.value(const)
            return obj
        got = "<EOF>" if kind == "eof" else repr(v)
        raise GraphQLSyntaxError(f"Syntax Error: Unexpected {got} at offset {pos}.")


def parse(source: str) -> Document:
    return _Parser(source).document()


def substitute(value: Any, variables: dict[str, Any]) -> Any:
    """Replace `Variable` nodes by their values, recursively (enums become names)."""
    if isinstance(value, Variable):
        return variables.get(value.name)
    if isinstance(value, EnumValue):
        return value.name
    if isinstance(value, list):
        return [substitute(v, variables) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, variables) for k, v in value.items()}
    return value
