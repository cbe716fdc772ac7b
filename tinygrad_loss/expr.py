"""A safe little expression language for the command line: ``tanh(x*w + b)``.

The text is parsed with ``ast.parse(mode="eval")`` and walked by a whitelist evaluator; it is
never given to ``eval`` or ``exec``. Allowed:

* numbers, and names bound to tensors (the variables you pass in); ``pi`` and ``e``
* ``+ - * / ** @`` and unary ``-`` / ``+``, parentheses
* the functions ``tanh sigmoid relu exp log sin cos sqrt abs sum mean softmax log_softmax``,
  called as functions (``tanh(x)``) or as methods (``(x*w).tanh()``); ``sum``, ``mean``,
  ``softmax`` and ``log_softmax`` take an optional integer axis (``sum(x, 0)``, ``axis=0``).

Anything else (attribute access such as ``x.__class__``, imports, subscripts, lambdas,
comprehensions, strings, calls of other names) raises ``ValueError`` naming what is not
allowed.

    >>> from tinygrad_loss import Tensor
    >>> x = Tensor(2.0, requires_grad=True)
    >>> evaluate("tanh(x * 3 - 5)", {"x": x})
    Tensor(0.7616, grad_fn=<TanhBackward>)
    >>> evaluate("__import__('os')", {})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: calling '__import__' is not allowed; the functions you can call are: abs, cos, exp, ...
"""

from __future__ import annotations

import ast
import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from .tensor import Tensor

__all__ = ["evaluate", "parse", "variables", "FUNCTIONS"]

MAX_LENGTH = 2000

#: The functions an expression may call: name -> (how to apply it, takes an axis?)
FUNCTIONS: dict[str, tuple[Callable[..., Tensor], bool]] = {
    "tanh": (lambda x: x.tanh(), False),
    "sigmoid": (lambda x: x.sigmoid(), False),
    "relu": (lambda x: x.relu(), False),
    "exp": (lambda x: x.exp(), False),
    "log": (lambda x: x.log(), False),
    "sin": (lambda x: x.sin(), False),
    "cos": (lambda x: x.cos(), False),
    "sqrt": (lambda x: x.sqrt(), False),
    "abs": (lambda x: x.abs(), False),
    "sum": (lambda x, axis=None: x.sum(axis), True),
    "mean": (lambda x, axis=None: x.mean(axis), True),
    "softmax": (lambda x, axis=-1: x.softmax(axis), True),
    "log_softmax": (lambda x, axis=-1: x.log_softmax(axis), True),
}
CONSTANTS = {"pi": math.pi, "e": math.e}
_CALLABLE = ", ".join(sorted(FUNCTIONS))

_BINARY = {
    ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b, ast.Mult: lambda a, b: a * b,
    ast.Div: lambda a, b: a / b, ast.Pow: lambda a, b: a**b, ast.MatMult: lambda a, b: a @ b,
}
_UNARY = {ast.USub: lambda a: -a, ast.UAdd: lambda a: a}

_NAMES = {  # how to name a construct that is not allowed
    ast.Attribute: "attribute access", ast.Subscript: "subscripts (x[...])", ast.Lambda: "lambda",
    ast.ListComp: "list comprehensions", ast.SetComp: "set comprehensions", ast.DictComp: "dict comprehensions",
    ast.GeneratorExp: "generator expressions", ast.IfExp: "conditional expressions (a if c else b)",
    ast.Compare: "comparisons", ast.BoolOp: "and/or", ast.List: "lists", ast.Tuple: "tuples", ast.Dict: "dicts",
    ast.Set: "sets", ast.JoinedStr: "f-strings", ast.Starred: "starred arguments (*x)", ast.NamedExpr: ":=",
    ast.Await: "await", ast.Yield: "yield", ast.Slice: "slices",
}


def parse(text: str) -> ast.Expression:
    """Parse ``text`` as one expression and check every part of it against the whitelist."""
    if not isinstance(text, str):
        raise ValueError(f"expression must be a string, got {type(text).__name__}")
    if len(text) > MAX_LENGTH:
        raise ValueError(f"expression is too long ({len(text)} characters, at most {MAX_LENGTH})")
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError as error:
        raise ValueError(f"not a valid expression: {error.msg} (statements such as import or assignment are not "
                         "allowed; write one formula like tanh(x*w + b))") from None
    except (RecursionError, MemoryError):
        raise ValueError("expression is nested too deeply") from None
    _check(tree.body)
    return tree


def _check(node: ast.AST) -> None:
    """Reject any construct outside the whitelist, naming it."""
    if isinstance(node, ast.Constant):
        if isinstance(node.value, bool) or not isinstance(node.value, (int, float)):
            raise ValueError(f"constant {node.value!r} is not allowed: only numbers")
    elif isinstance(node, ast.Name):
        if node.id.startswith("_"):
            raise ValueError(f"name {node.id!r} is not allowed (names starting with '_' are reserved)")
    elif isinstance(node, ast.BinOp):
        if type(node.op) not in _BINARY:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed; use + - * / ** @")
        _check(node.left)
        _check(node.right)
    elif isinstance(node, ast.UnaryOp):
        if type(node.op) not in _UNARY:
            raise ValueError(f"operator {type(node.op).__name__} is not allowed; use - or +")
        _check(node.operand)
    elif isinstance(node, ast.Call):
        _check_call(node)
    elif isinstance(node, ast.Attribute):
        raise ValueError(f"attribute access (.{node.attr}) is not allowed in an expression; the only methods are "
                         f"the allowed functions, e.g. (x*w).tanh()")
    else:
        what = _NAMES.get(type(node), type(node).__name__)
        raise ValueError(f"not allowed in an expression: {what}")


def _check_call(node: ast.Call) -> None:
    function = node.func
    if isinstance(function, ast.Name):
        name, receiver = function.id, None
    elif isinstance(function, ast.Attribute):
        name, receiver = function.attr, function.value
    else:
        raise ValueError(f"calling {_NAMES.get(type(function), type(function).__name__)} is not allowed")
    if receiver is not None:
        _check(receiver)  # inside out: in __import__('os').system(...) the first offence is __import__
    if name not in FUNCTIONS:
        kind = "method" if receiver is not None else ""
        raise ValueError(f"calling {kind + ' ' if kind else ''}{name!r} is not allowed; the functions you can call "
                         f"are: {_CALLABLE}")
    takes_axis = FUNCTIONS[name][1]
    arguments = list(node.args) if receiver is None else [receiver, *node.args]
    if not arguments:
        raise ValueError(f"{name}() needs an argument, e.g. {name}(x)")
    if len(arguments) > 1 + takes_axis:
        raise ValueError(f"{name} takes {'one tensor and an optional axis' if takes_axis else 'one argument'}, "
                         f"got {len(arguments)} arguments")
    for keyword in node.keywords:
        if not takes_axis or keyword.arg not in ("axis", "dim"):
            raise ValueError(f"keyword argument {keyword.arg}= is not allowed for {name}")
    axes = arguments[1:] + [k.value for k in node.keywords]
    if len(axes) > 1:
        raise ValueError(f"{name}: give the axis once")
    for axis in axes:
        value = axis.operand if isinstance(axis, ast.UnaryOp) and isinstance(axis.op, ast.USub) else axis
        if not (isinstance(value, ast.Constant) and type(value.value) is int):
            raise ValueError(f"{name}: the axis must be a whole number, like {name}(x, 0)")
    _check(arguments[0])


def variables(text: str) -> list[str]:
    """The names an expression uses as values (function names and constants excluded)."""
    tree = parse(text)
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}
    names = sorted((n for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called),
                   key=lambda n: (n.lineno, n.col_offset))
    return list(dict.fromkeys(n.id for n in names if n.id not in CONSTANTS))


def evaluate(text: str, values: Mapping[str, Any]) -> Tensor:
    """Evaluate ``text`` with ``values`` (name -> Tensor or number), recording the graph.

    Raises ``ValueError`` for anything outside the whitelist and for unknown names."""
    tree = parse(text)
    result = _evaluate(tree.body, dict(values))
    if not isinstance(result, Tensor):
        result = Tensor(np.float64(result))
    return result


def _evaluate(node: ast.AST, values: dict) -> Any:
    if isinstance(node, ast.Constant):
        return float(node.value)
    if isinstance(node, ast.Name):
        if node.id in values:
            return values[node.id]
        if node.id in CONSTANTS:
            return CONSTANTS[node.id]
        known = ", ".join(sorted(values)) or "none"
        raise ValueError(f"unknown name {node.id!r}: give it a value, e.g. --values {node.id}=1.5 "
                         f"(variables given: {known})")
    if isinstance(node, ast.BinOp):
        left, right = _evaluate(node.left, values), _evaluate(node.right, values)
        if not isinstance(left, Tensor) and not isinstance(right, Tensor):
            with np.errstate(all="ignore"):  # numbers only: float64 arithmetic, never a huge int
                return float(_BINARY[type(node.op)](np.float64(left), np.float64(right)))
        if isinstance(node.op, ast.MatMult) and not (isinstance(left, Tensor) and isinstance(right, Tensor)):
            raise ValueError("@ needs two tensors")
        return _BINARY[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp):
        return _UNARY[type(node.op)](_evaluate(node.operand, values))
    if isinstance(node, ast.Call):
        function = node.func
        name = function.id if isinstance(function, ast.Name) else function.attr
        arguments = list(node.args) if isinstance(function, ast.Name) else [function.value, *node.args]
        x = _evaluate(arguments[0], values)
        if not isinstance(x, Tensor):
            x = Tensor(np.float64(x))
        axes = [_constant_int(a) for a in arguments[1:]] + [_constant_int(k.value) for k in node.keywords]
        apply, _ = FUNCTIONS[name]
        return apply(x, *axes)
    raise ValueError(f"{type(node).__name__} is not allowed in an expression")  # parse() already refused it


def _constant_int(node: ast.AST) -> int:
    if isinstance(node, ast.UnaryOp):
        return -_constant_int(node.operand)
    return int(node.value)  # type: ignore[attr-defined]
