"""Job type schemas that can neither stall nor break the service.

A schema is checked when it is stored (`check`), and payloads are validated against it within
a bound of work (`PayloadValidator`):

- its dialect is one jsonschema knows (draft 7, 2019-09, 2020-12), named by `$schema` or the
  latest by default: never a remote metaschema;
- every `$ref` is a JSON pointer into the schema itself (`#` or `#/...`) that lands on a
  subschema: a remote reference would make each create fetch a URL, an unresolvable one
  would answer 500. `$id` (a new base for references), `$dynamicRef` and `$recursiveRef`
  are refused, and so is a `$schema` below the root;
- no `$ref` cycle (`{"$ref": "#"}` recursed forever), and the schema expanded through its
  references stays small and shallow (a chain of `$ref`s each used twice doubles the work
  per level);
- `pattern` and `patternProperties` are matched by RE2, in time linear in the text: Python's
  `re` backtracks, and `^(a+)+$` against 30 `a`s and a `!` held the event loop for 70 s.
  A pattern RE2 cannot compile (lookaround, backreferences) is refused when stored;
  `unevaluatedProperties` beside `patternProperties` is refused, as jsonschema matches
  those patterns with `re` there. `format` is never asserted (no format checker), so a
  `format: regex` compiles nothing.

Validation counts its work (each keyword weighed by the sizes of its value and its instance)
and gives up past `VALIDATION_BUDGET`, with a 400: whatever the schema and payload, one create
holds the loop for a bounded time. `uniqueItems` is linear here (jsonschema's is quadratic for
objects).
"""

import contextvars
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import unquote

import jsonschema
import re2
import referencing
from jsonschema import validators

MAX_SUBSCHEMAS = 1_000  #: subschemas as written
MAX_EXPANDED_NODES = 10_000  #: subschemas once every `$ref` is replaced by its target
MAX_EXPANDED_DEPTH = 64  #: nesting of subschemas once every `$ref` is replaced by its target
INLINE_BUDGET = 10_000  #: units of work a validation may take on the event loop (at most ~20 ms)
VALIDATION_BUDGET = 1_000_000  #: units of work a validation may take at all, off the loop (at most ~1-2 s)
MAX_ERRORS = 20  #: the validation errors a refusal lists

DIALECTS: dict[str, type[jsonschema.protocols.Validator]] = {
    cls.META_SCHEMA["$schema"].rstrip("#"): cls
    for cls in (validators.Draft7Validator, validators.Draft201909Validator, validators.Draft202012Validator)
}
DEFAULT_DIALECT = validators.Draft202012Validator

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the caller's 400, not a line in our log

# keyword -> where its subschemas are: "one" schema, a "list" of them, a "map" of name -> schema
_SUBSCHEMAS = {
    "not": "one", "if": "one", "then": "one", "else": "one", "additionalProperties": "one", "contains": "one",
    "propertyNames": "one", "additionalItems": "one", "unevaluatedItems": "one", "unevaluatedProperties": "one",
    "contentSchema": "one", "allOf": "list", "anyOf": "list", "oneOf": "list", "prefixItems": "list",
    "properties": "map", "patternProperties": "map", "$defs": "map", "definitions": "map",
    "dependentSchemas": "map", "dependencies": "map", "items": "one_or_list",
}
_REFUSED = {
    "$id": "a job type's schema is one document: no $id",
    "$dynamicRef": "$dynamicRef is not supported: use a local $ref (#/...)",
    "$recursiveRef": "$recursiveRef is not supported: use a local $ref (#/...)",
}


class SchemaRefused(ValueError):
    """A schema the service will not store; the message names where and why."""


class BudgetExceeded(Exception):
    """A payload's validation took more than VALIDATION_BUDGET units of work."""


def compile_pattern(pattern: str) -> Any:
    """The pattern compiled by RE2 (linear time); re2.error if RE2 cannot compile it."""
    return re2.compile(pattern, options=_RE2_OPTIONS)


def dialect(schema: Any) -> type[jsonschema.protocols.Validator]:
    """The validator class of the schema's `$schema` (the latest draft without one)."""
    uri = schema.get("$schema") if isinstance(schema, dict) else None
    if uri is None:
        return DEFAULT_DIALECT
    if not isinstance(uri, str) or uri.rstrip("#") not in DIALECTS:
        raise SchemaRefused(f"$schema: not one of the supported dialects ({', '.join(sorted(DIALECTS))})")
    return DIALECTS[uri.rstrip("#")]


def check(schema: Any) -> None:
    """Raise SchemaRefused unless `schema` is safe to store (see the module's docstring).

    Costs up to about a second for the largest schema allowed (the metaschema check takes
    about 1 ms a subschema): run it off the event loop."""
    cls = dialect(schema)
    children: dict[str, list[str]] = {}
    refs: dict[str, str] = {}
    keywords: set[str] = set()
    _walk(schema, "", children, refs, keywords)
    if len(children) > MAX_SUBSCHEMAS:
        raise SchemaRefused(f"{len(children)} subschemas, more than {MAX_SUBSCHEMAS}")
    try:
        cls.check_schema(schema, format_checker=None)  # formats: RE2 checked the patterns
    except jsonschema.SchemaError as exc:
        where = "/".join(str(p) for p in exc.absolute_path)
        raise SchemaRefused(f"not a valid JSON Schema: {exc.message}" + (f" (at /{where})" if where else "")) from None
    if "unevaluatedProperties" in keywords and "patternProperties" in keywords:
        raise SchemaRefused("unevaluatedProperties beside patternProperties is not supported")
    for where, ref in refs.items():
        if _pointer(ref) not in children:
            raise SchemaRefused(f"$ref at {where or '/'}: {ref!r} does not point at a subschema of this schema")
        children[where].append(_pointer(ref))
    _check_expansion(children, refs)


def _walk(node: Any, pointer: str, children: dict[str, list[str]], refs: dict[str, str], keywords: set[str]) -> None:
    """Record every subschema's children by JSON pointer, check its keywords, and collect its `$ref`s."""
    children[pointer] = kids = []
    if not isinstance(node, dict):
        return
    keywords.update(node)
    _check_keywords(node, pointer)
    if "$ref" in node:
        refs[pointer] = node["$ref"]
    for keyword, kind in _SUBSCHEMAS.items():
        for part, child in _children(kind, node.get(keyword)):
            kids.append(f"{pointer}/{_escape(keyword)}{part}")
            _walk(child, kids[-1], children, refs, keywords)


def _children(kind: str, value: Any) -> Iterator[tuple[str, Any]]:
    if kind == "one_or_list":
        kind = "list" if isinstance(value, list) else "one"
    if kind == "one" and isinstance(value, dict | bool):
        yield "", value
    elif kind == "list" and isinstance(value, list):
        yield from ((f"/{i}", v) for i, v in enumerate(value) if isinstance(v, dict | bool))
    elif kind == "map" and isinstance(value, dict):
        yield from ((f"/{_escape(k)}", v) for k, v in value.items() if isinstance(v, dict | bool))


def _check_keywords(node: dict[str, Any], pointer: str) -> None:
    where = pointer or "/"
    for keyword, reason in _REFUSED.items():
        if keyword in node:
            raise SchemaRefused(f"{keyword} at {where}: {reason}")
    if "$schema" in node and pointer:
        raise SchemaRefused(f"$schema at {where}: only the schema's root may name its dialect")
    ref = node.get("$ref")
    if ref is not None and not (isinstance(ref, str) and (ref == "#" or ref.startswith("#/"))):
        raise SchemaRefused(f"$ref at {where}: {ref!r} is not a local reference (# or #/...)")
    patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), dict):
        patterns += list(node["patternProperties"])
    for pattern in patterns:
        try:
            compile_pattern(pattern)
        except re2.error as exc:
            reason = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
            why = f"not supported by the linear-time engine ({reason})"
            raise SchemaRefused(f"pattern {pattern!r} at {where}: {why}") from None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def _pointer(ref: str) -> str:
    """The JSON pointer of a local `$ref`, as `_walk` keys its nodes (percent-escapes decoded)."""
    return unquote(ref[1:])


def _check_expansion(children: dict[str, list[str]], refs: dict[str, str]) -> None:
    """Refuse a `$ref` cycle, and a schema too big or deep once its references are expanded."""
    size: dict[str, int] = {}
    depth: dict[str, int] = {}
    _expand("", children, refs, size, depth)
    if size[""] > MAX_EXPANDED_NODES:
        raise SchemaRefused(f"more than {MAX_EXPANDED_NODES} subschemas once its $refs are expanded")
    if depth[""] > MAX_EXPANDED_DEPTH:
        raise SchemaRefused(f"nested more than {MAX_EXPANDED_DEPTH} deep once its $refs are expanded")


def _expand(root: str, children: dict[str, list[str]], refs: dict[str, str], size: dict, depth: dict) -> None:
    """Sizes and depths of the expanded subschemas under `root` (iteratively: a chain of refs may be long)."""
    if root in size:
        return
    on_path: set[str] = set()
    stack: list[tuple[str, bool]] = [(root, False)]
    while stack:
        pointer, done = stack.pop()
        if done:
            on_path.discard(pointer)
            kids = children[pointer]
            size[pointer] = min(1 + sum(size[k] for k in kids), MAX_EXPANDED_NODES + 1)
            depth[pointer] = min(1 + max((depth[k] for k in kids), default=0), MAX_EXPANDED_DEPTH + 1)
            continue
        if pointer in size:
            continue
        if pointer in on_path:
            via = next((p for p, r in refs.items() if _pointer(r) == pointer and p in on_path), pointer)
            why = "makes a cycle (a schema may not refer to itself)"
            raise SchemaRefused(f"$ref at {via or '/'}: {refs.get(via)!r} {why}")
        on_path.add(pointer)
        stack.append((pointer, True))
        stack.extend((k, False) for k in children[pointer] if k not in size)


_budget: contextvars.ContextVar[list[int]] = contextvars.ContextVar("jobledger_validation_budget")


_CALL_COST = 20  # a keyword's call and its descent cost about as much as 20 comparisons (~10 us)


def _size(value: Any) -> int:
    return len(value) if isinstance(value, dict | list | str) else 0


def _charge(units: int) -> None:
    left = _budget.get()
    left[0] -= units
    if left[0] < 0:
        raise BudgetExceeded


def _counted(keyword: Callable) -> Callable:
    def count(validator, value, instance, schema):
        _charge(_CALL_COST + (1 + _size(value)) * (1 + _size(instance)))  # its value may meet each item
        return keyword(validator, value, instance, schema)

    return count


def _pattern(validator, pattern, instance, schema):
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield jsonschema.ValidationError(f"does not match {pattern!r}")


def _pattern_properties(validator, patterns, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = compile_pattern(pattern)
        for name, value in instance.items():
            if compiled.search(name):
                yield from validator.descend(value, subschema, path=name, schema_path=pattern)


def _additional_properties(validator, additional, instance, schema):
    if not validator.is_type(instance, "object"):
        return
    known = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    extras = [k for k in instance if k not in known and not any(p.search(k) for p in patterns)]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)
    elif not additional and extras:
        named = ", ".join(map(repr, sorted(extras)))
        yield jsonschema.ValidationError(f"additional properties are not allowed ({named})")


def _unique_items(validator, unique, instance, schema):
    if unique and validator.is_type(instance, "array"):
        seen = set()
        for item in instance:
            key = _canonical(item)
            if key in seen:
                yield jsonschema.ValidationError("has non-unique elements")
                return
            seen.add(key)


def _canonical(value: Any) -> Any:
    """A hashable key equal for JSON values JSON Schema calls equal (1 == 1.0, but true != 1)."""
    _charge(10)  # about 5 us a value
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return (type(value).__name__, value)
    if isinstance(value, int | float):
        return ("number", value)
    if isinstance(value, list):
        return ("array", tuple(_canonical(v) for v in value))
    return ("object", frozenset((k, _canonical(v)) for k, v in value.items()))


_OVERRIDES = {
    "pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties,
    "uniqueItems": _unique_items,
}


def _bounded(cls: type) -> type:
    keywords = {k: _counted(_OVERRIDES.get(k, f)) for k, f in cls.VALIDATORS.items()}
    return validators.extend(cls, keywords)


_BOUNDED = {cls: _bounded(cls) for cls in DIALECTS.values()}


class PayloadValidator:
    """Validates payloads against one checked schema, within VALIDATION_BUDGET."""

    def __init__(self, schema: Any):
        cls = _BOUNDED[dialect(schema)]
        # an empty registry: nothing is ever looked up outside the schema itself, let alone fetched
        self._validator = cls(schema, registry=referencing.Registry())

    def errors(self, payload: Any, budget: int = VALIDATION_BUDGET) -> list[jsonschema.ValidationError]:
        """Up to MAX_ERRORS of the payload's errors; BudgetExceeded past `budget` units of work."""
        token = _budget.set([budget])
        try:
            found = []
            for error in self._validator.iter_errors(payload):
                found.append(error)
                if len(found) == MAX_ERRORS:
                    break
            return found
        finally:
            _budget.reset(token)
