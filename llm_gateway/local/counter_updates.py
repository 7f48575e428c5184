"""Counter updates applied directly: the local runner's patch to moto 5.2 for the ``UpdateItem``s
the gateway sends on every request (quota and budget counters, the usage ledger's).

moto parses an update's expressions twice and walks each syntax tree node by node, several times,
to validate it: a quota admission (``ADD`` and ``SET``, under a condition of five comparisons) took
7.8 ms of the emulator's time, the most of any call a request makes. Here an update in a small
grammar is parsed once per expression text and applied directly:

- update: ``ADD path :v, ...`` (numbers) and ``SET path = :v`` or ``SET path = if_not_exists(path,
  :v), ...``, each clause at most once;
- condition: comparisons (``= < <= > >=``) of top-level attributes and values, of numbers or of
  strings, ``attribute_exists(path)``, ``attribute_not_exists(path)``, ``AND``, ``OR``, ``NOT``
  and parentheses.

Anything else goes to moto as before, to be applied or refused there: another clause or function,
a nested path, a reserved word written bare, a placeholder left unused, a path written twice or a
key attribute changed, operands of other types (or of two types), ``<>``, a table with a stream.
``tests/test_emulator.py`` checks this path answers as moto's does, conditions and failures
included.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from typing import Any

from moto.dynamodb import models, responses
from moto.dynamodb.exceptions import ConditionalCheckFailed
from moto.dynamodb.models.dynamo_type import DynamoType
from moto.dynamodb.parsing import expressions
from moto.dynamodb.parsing.reserved_keywords import ReservedKeywords

TOKEN = re.compile(r"\s*(<=|>=|<>|[=<>(),]|[#:]?[A-Za-z_]\w*)")
NAME = re.compile(r"#?[A-Za-z_]\w*")
COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {  # Decimals or strs
    "=": lambda a, b: a == b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b, ">=": lambda a, b: a >= b}


class Unsupported(Exception):
    """Not in the grammar, or not a case this path decides: moto's to apply or refuse."""


@dataclass(frozen=True)
class Update:
    adds: tuple[tuple[str, str], ...]  # (path, :value)
    sets: tuple[tuple[str, str, str | None], ...]  # (path, :value, the if_not_exists path or None)

    @property
    def paths(self) -> list[str]:
        return [p for p, _ in self.adds] + [p for p, _, _ in self.sets]


def _tokens(text: str) -> list[str]:
    tokens, at = [], 0
    while at < len(text.rstrip()):
        match = TOKEN.match(text, at)
        if not match:
            raise Unsupported(text)
        tokens.append(match.group(1))
        at = match.end()
    return tokens


RESERVED = frozenset(word.upper() for word in ReservedKeywords.get_reserved_keywords())


class _Reader:
    def __init__(self, text: str) -> None:
        self.tokens, self.at = _tokens(text), 0

    def peek(self, *expected: str) -> bool:
        return self.at < len(self.tokens) and self.tokens[self.at].upper() in expected

    def take(self, *expected: str) -> str:
        if self.at >= len(self.tokens) or (expected and self.tokens[self.at].upper() not in expected):
            raise Unsupported(self.tokens[self.at:])
        self.at += 1
        return self.tokens[self.at - 1]

    def next(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def path(self) -> str:
        """A top-level attribute: a ``#name`` placeholder, or a name that is not a reserved word."""
        word = self.take()
        if not NAME.fullmatch(word) or (word[0] != "#" and word.upper() in RESERVED):
            raise Unsupported(word)
        return word

    def value(self) -> str:
        word = self.take()
        if not word.startswith(":"):
            raise Unsupported(word)
        return word

    def operand(self) -> tuple[str, str]:
        return ("value", self.value()) if self.next().startswith(":") else ("path", self.path())


@lru_cache(maxsize=1024)
def parse_update(text: str) -> Update:
    reader, seen = _Reader(text), set()
    adds: list[tuple[str, str]] = []
    sets: list[tuple[str, str, str | None]] = []
    while reader.at < len(reader.tokens):
        clause = reader.take("ADD", "SET").upper()
        if clause in seen:
            raise Unsupported(text)
        seen.add(clause)
        while True:
            if clause == "ADD":
                adds.append((reader.path(), reader.value()))
            else:
                path = reader.path()
                reader.take("=")
                if reader.next() == "if_not_exists":
                    reader.take()
                    reader.take("(")
                    kept = reader.path()
                    reader.take(",")
                    sets.append((path, reader.value(), kept))
                    reader.take(")")
                else:
                    sets.append((path, reader.value(), None))
            if not reader.peek(","):
                break
            reader.take(",")
    if not adds and not sets:
        raise Unsupported(text)
    return Update(tuple(adds), tuple(sets))


@lru_cache(maxsize=1024)
def parse_condition(text: str) -> tuple[Any, ...]:
    """A condition as nested tuples: ("or"|"and", a, b), ("not", a), ("cmp", op, left, right),
    ("exists", path, wanted)."""
    reader = _Reader(text)

    def joined(keyword: str, part: Callable[[], tuple[Any, ...]]) -> tuple[Any, ...]:
        node = part()
        while reader.peek(keyword):
            reader.take()
            node = (keyword.lower(), node, part())
        return node

    def either() -> tuple[Any, ...]:  # OR binds loosest, then AND, then NOT
        return joined("OR", lambda: joined("AND", negated))

    def negated() -> tuple[Any, ...]:
        if reader.peek("NOT"):
            reader.take()
            return ("not", negated())
        return simple()

    def simple() -> tuple[Any, ...]:
        if reader.peek("("):
            reader.take()
            node = either()
            reader.take(")")
            return node
        word = reader.next()
        if word in ("attribute_exists", "attribute_not_exists"):
            reader.take()
            reader.take("(")
            path = reader.path()
            reader.take(")")
            return ("exists", path, word == "attribute_exists")
        left = reader.operand()
        comparison = reader.take(*COMPARISONS)
        return ("cmp", comparison, left, reader.operand())

    node = either()
    if reader.next():
        raise Unsupported(text)
    return node


@lru_cache(maxsize=1024)
def placeholders(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """The ``#names`` and ``:values`` an expression uses."""
    tokens = _tokens(text)
    return frozenset(t for t in tokens if t.startswith("#")), frozenset(t for t in tokens if t.startswith(":"))


class Applier:
    """One update request: names resolved, values typed, against the item as it is."""

    def __init__(self, names: dict[str, str], values: dict[str, dict[str, Any]]) -> None:
        self.names, self.values = names, values

    def name(self, path: str) -> str:
        if path.startswith("#"):
            if path not in self.names:
                raise Unsupported(path)
            return self.names[path]
        return path

    def value(self, placeholder: str) -> Any:
        if placeholder not in self.values:
            raise Unsupported(placeholder)
        return DynamoType(self.values[placeholder])

    def holds(self, node: tuple[Any, ...], attrs: dict[str, Any]) -> bool:
        kind = node[0]
        if kind == "or":
            return self.holds(node[1], attrs) or self.holds(node[2], attrs)
        if kind == "and":
            return self.holds(node[1], attrs) and self.holds(node[2], attrs)
        if kind == "not":
            return not self.holds(node[1], attrs)
        if kind == "exists":
            return (self.name(node[1]) in attrs) is node[2]
        left, right = (self._operand(o, attrs) for o in node[2:])
        if left is None or right is None:  # a missing attribute compares false
            return False
        if left.type != right.type or left.type not in ("N", "S"):
            raise Unsupported(node)
        if left.type == "N":
            return COMPARISONS[node[1]](Decimal(left.value), Decimal(right.value))
        return COMPARISONS[node[1]](str(left.value), str(right.value))

    def _operand(self, operand: tuple[str, str], attrs: dict[str, Any]) -> Any:
        return self.value(operand[1]) if operand[0] == "value" else attrs.get(self.name(operand[1]))

    def changes(self, update: Update, attrs: dict[str, Any]) -> dict[str, Any]:
        """Each path's new value, every one computed from the item before the update."""
        new = {}
        for path, placeholder in update.adds:
            added, name = self.value(placeholder), self.name(path)
            if added.type != "N" or (name in attrs and attrs[name].type != "N"):
                raise Unsupported(path)  # sets, or a type error: moto's
            new[name] = attrs[name] + added if name in attrs else added
        for path, placeholder, kept in update.sets:
            name = self.name(path)
            new[name] = attrs[self.name(kept)] if kept and self.name(kept) in attrs else self.value(placeholder)
        return new


def supported(update_expression: str | None, condition: str | None, names: dict[str, Any] | None,
              values: dict[str, Any] | None) -> Update | None:
    """The update, if both expressions are in the grammar and use every placeholder given."""
    if not update_expression:
        return None
    try:
        update = parse_update(update_expression)
        if condition:
            parse_condition(condition)
    except Unsupported:
        return None
    used_names, used_values = placeholders(update_expression + " " + (condition or ""))
    if used_names != set(names or {}) or used_values != set(values or {}):
        return None  # DynamoDB refuses an unused placeholder: moto says so
    return update


def apply(table: Any, key: dict[str, Any], update: Update, *, values: tuple[Any, Any], condition: str | None,
          applier: Applier, failed: Callable[[Any], Exception]) -> Any:
    """Check the condition and apply the update to the item (its key ``values``): the item after
    it, or ``failed`` (given the item before) raised. Unsupported, before anything is changed, when
    moto must decide."""
    if table.stream_shard is not None or set(key) != {table.hash_key_attr, table.range_key_attr} - {None}:
        raise Unsupported(key)
    item = table.get_item(*values)
    attrs = item.attrs if item is not None else {}
    paths = [applier.name(p) for p in update.paths]
    if len(set(paths)) != len(paths) or {table.hash_key_attr, table.range_key_attr} & set(paths):
        raise Unsupported(paths)
    if condition and not applier.holds(parse_condition(condition), attrs):
        raise failed(item)
    new = applier.changes(update, attrs)
    if item is None:
        table.put_item(dict(key))
        item = table.get_item(*values)
    item.attrs.update(new)
    return item


class ParsedCondition:
    """What moto's request handler parses a condition for: the placeholders it uses (the backend
    parses it again to apply it)."""

    def __init__(self, condition: str) -> None:
        names, values = placeholders(condition)
        self.expr_attr_names_found, self.expr_attr_values_found = sorted(names), sorted(values)

    def parse(self) -> None:
        return None


def direct_counter_updates() -> None:
    """Patch moto's DynamoDB backend, and its request handler's own parse of expressions."""
    backend_class = models.DynamoDBBackend
    original = backend_class.update_item
    if getattr(original, "applied_directly", False):
        return

    def update_item(self: Any, table_name: str, key: dict[str, Any], update_expression: str,  # noqa: PLR0917 (moto's)
                    expression_attribute_names: dict[str, Any], expression_attribute_values: dict[str, Any],
                    attribute_updates: Any = None, expected: Any = None, condition_expression: Any = None,
                    return_values_on_condition_check_failure: Any = None) -> Any:
        update = supported(update_expression, condition_expression, expression_attribute_names,
                           expression_attribute_values)
        if update is not None and not attribute_updates and not expected:
            table = self.get_table(table_name)

            def failed(item: Any) -> Exception:
                if return_values_on_condition_check_failure == "ALL_OLD" and item is not None:
                    return ConditionalCheckFailed(item=item.to_json()["Attributes"])
                return ConditionalCheckFailed()

            with contextlib.suppress(Unsupported):
                return apply(table, key, update, values=self.get_keys_value(table, key),
                             condition=condition_expression, failed=failed,
                             applier=Applier(expression_attribute_names or {}, expression_attribute_values or {}))
        return original(self, table_name, key, update_expression, expression_attribute_names,
                        expression_attribute_values, attribute_updates, expected, condition_expression,
                        return_values_on_condition_check_failure)

    moto_condition_parser = responses.create_condition_expression_parser  # type: ignore[attr-defined]

    def condition_parser(condition: str | None, names: Any, values: Any) -> Any:
        with contextlib.suppress(Unsupported):
            if condition and parse_condition(condition):
                return ParsedCondition(condition)
        return moto_condition_parser(condition, names, values)

    # moto's own parse of an update, for what is left to it and for its request handler's check of
    # placeholders: remembered per text (the tree is only read; moto validates a copy of it).
    parser: Any = expressions.UpdateExpressionParser  # type: ignore[attr-defined]
    remembered: Any = lru_cache(maxsize=1024)(parser.make.__func__)
    parser.make = classmethod(remembered)

    update_item.applied_directly = True  # type: ignore[attr-defined]
    update_item.moto, condition_parser.moto = original, moto_condition_parser  # type: ignore[attr-defined]
    backend_class.update_item = update_item  # type: ignore[method-assign]
    responses.create_condition_expression_parser = condition_parser  # type: ignore[attr-defined,assignment]
