"""The GraphQL reader on its own: literals, fragments, directives, errors."""

from __future__ import annotations

import pytest

from aocu.devnet._graphql import EnumValue, Field, GraphQLSyntaxError, Variable, parse, substitute


async def test_literals_strings_and_variables():
    doc = parse('''
        query Q($a: [ID!]! = ["x"], $b: Int) {
          f(s: "t\\u00e9\\"\\n", n: -12, x: 1.5e2, e: HEIGHT_ASC, l: [1, $b], o: {k: null, t: true}, v: $a,
            blk: """
                first
                  second
            """)
        }''')
    (op,) = doc.operations
    assert (op.kind, op.name) == ("query", "Q")
    assert op.variables[0].type == "[ID!]!" and op.variables[0].default == ["x"] and not op.variables[0].required
    (field,) = op.selections
    args = field.arguments
    assert args["s"] == 'té"\n' and args["n"] == -12 and args["x"] == 150.0
    assert args["e"] == EnumValue("HEIGHT_ASC") and args["l"] == [1, Variable("b")]
    assert args["o"] == {"k": None, "t": True} and args["blk"] == "first\n  second"
    assert substitute(args, {"a": ["y"], "b": 2})["l"] == [1, 2]
    assert substitute(args, {})["e"] == "HEIGHT_ASC"


async def test_aliases_fragments_and_directives():
    doc = parse('''
        { a: transactions { ...E edges @include(if: true) { cursor } ... on TransactionConnection { pageInfo
          { hasNextPage } } } }
        fragment E on TransactionConnection { edges { node { id } } }''')
    (op,) = doc.operations
    (field,) = op.selections
    assert isinstance(field, Field) and (field.alias, field.name, field.key) == ("a", "transactions", "a")
    assert "E" in doc.fragments and doc.fragments["E"].type_condition == "TransactionConnection"
    assert field.selections[1].directives == [("include", {"if": True})]


@pytest.mark.parametrize("source", ["", "{", "{ a(b: ) }", "query { a } extra", "{ a(b: $) }", '{ a(s: "x',
                                    "fragment F on T { a }"])
async def test_syntax_errors(source):
    with pytest.raises(GraphQLSyntaxError):
        parse(source)
