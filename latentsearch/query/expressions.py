"""The query expression language: vector arithmetic over words, texts, items, images and directions.

Grammar (EBNF; whitespace separates tokens and is otherwise ignored)::

    expression := sum END
    sum        := product (("+" | "-") product)*
    product    := unary (("*" | "/") unary)*
    unary      := ("+" | "-") unary | atom
    atom       := NUMBER | WORD | STRING | REF | IMAGE | VEC | "(" sum ")"

    NUMBER     := digits ["." digits] [("e" | "E") ["+" | "-"] digits]  |  "." digits
    WORD       := (letter | "_") (letter | digit | "_" | "'" | ".")*     e.g. king, New_York
    STRING     := '"' ... '"'  |  "'" ... "'"        (backslash escapes the quote and itself)
    REF        := "@" (RUN | STRING)                 e.g. @ticket-123, @"doc 7"
    IMAGE      := "image:" (RUN | STRING)            e.g. image:photos/red_car.jpg, image:@cat-7
    VEC        := "vec:" (RUN | STRING)              e.g. vec:sunny
    RUN        := one or more characters other than whitespace, quotes, "(", ")", "*", "+"

Meaning: a WORD is the item with that id when the caller may see one, else text to embed; a
STRING is always text; a REF is always an item (an error if missing or not visible); an IMAGE is
``image:@id`` (the same as ``@id``), an image sent with the query (``images={"name": ...}``, then
``image:name``) or, in the Python API and CLI only, an image file (CLIP collections); a VEC is a direction saved with ``col.direction(..., name=...)``.
Precedence and weights are as in arithmetic: ``*`` and ``/`` bind tighter than ``+`` and ``-``;
a number may multiply a term or a parenthesised sum (``0.7 * "formal tone"``, ``2 * (a - b)``) and
divide one (``(a + b) / 2``). Two terms cannot be multiplied, and a number cannot be added to a term.

The value of an expression is a weighted sum of terms, each term's vector at unit length (as in
3CosAdd): ``king - man + woman`` ranks like gensim's ``most_similar(["king", "woman"], ["man"])``.
Errors are `ExpressionError`s carrying the 1-based column of the problem.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentsearch.errors import ExpressionError
from latentsearch.query.inputs import Spec
from latentsearch.query.lexer import Lexer, Token

MAX_LENGTH = 10_000
MAX_TERMS = 256
MAX_DEPTH = 64


@dataclass(frozen=True, slots=True)
class WeightedTerm:
    spec: Spec
    weight: float
    column: int


@dataclass(frozen=True, slots=True)
class Expression:
    """A parsed expression: the source text and its terms with their combined weights."""

    source: str
    terms: tuple[WeightedTerm, ...]


def parse(src: str) -> Expression:
    """Parse and fold an expression into weighted terms, or raise `ExpressionError`."""
    if not isinstance(src, str):
        raise ExpressionError(
            f"an expression must be a string, not {type(src).__name__}", repr(src), 1
        )
    if len(src) > MAX_LENGTH:
        raise ExpressionError(f"expression longer than {MAX_LENGTH} characters", src[:80], 1)
    if not src.strip():
        raise ExpressionError("empty expression; try e.g. king - man + woman", src, 1)
    p = _Parser(src, Lexer(src).tokens())
    value = p.sum(0)
    end = p.peek()
    if end.kind != "END":
        if end.kind == "RPAREN":
            what = "unbalanced ')': no '(' opens it"
        else:
            what = f"expected an operator (+ - * /) before {end.text!r}"
            if end.kind == "WORD":
                what += '; quote multi-word text, e.g. "sunny beach"'

        raise ExpressionError(what, src, end.column)
    if isinstance(value, float):
        raise ExpressionError("the expression has only numbers; it needs at least one term", src, 1)
    terms = tuple(t for t in value.values() if t.weight != 0.0)
    if not terms:
        raise ExpressionError("the terms cancel out: the expression is the zero vector", src, 1)
    return Expression(src, terms)


Value = float | dict[Spec, WeightedTerm]


class _Parser:
    def __init__(self, src: str, tokens: list[Token]) -> None:
        self.src, self.tokens, self.pos = src, tokens, 0

    def peek(self) -> Token:
        return self.tokens[self.pos]

    def take(self) -> Token:
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def error(self, msg: str, tok: Token) -> ExpressionError:
        return ExpressionError(msg, self.src, tok.column)

    def sum(self, depth: int) -> Value:
        value = self.product(depth)
        while self.peek().kind == "OP" and self.peek().text in "+-":
            op = self.take()
            right = self.product(depth)
            value = self.combine(value, right, 1.0 if op.text == "+" else -1.0, op)
        return value

    def product(self, depth: int) -> Value:
        value = self.unary(depth)
        while self.peek().kind == "OP" and self.peek().text in "*/":
            op = self.take()
            right = self.unary(depth)
            if op.text == "/":
                if not isinstance(right, float):
                    raise self.error("can only divide by a number", op)
                if right == 0.0:
                    raise self.error("division by zero", op)
                value = self.scale(value, 1.0 / right, op)
            elif isinstance(value, float):
                value = self.scale(right, value, op)
            elif isinstance(right, float):
                value = self.scale(value, right, op)
            else:
                raise self.error(
                    "two terms cannot be multiplied; weight a term with a number, e.g. 0.5 * word",
                    op,
                )
        return value

    def unary(self, depth: int) -> Value:
        if depth > MAX_DEPTH:
            raise self.error(f"expression nested deeper than {MAX_DEPTH} levels", self.peek())
        tok = self.peek()
        if tok.kind == "OP" and tok.text in "+-":
            self.take()
            value = self.unary(depth + 1)
            return value if tok.text == "+" else self.scale(value, -1.0, tok)
        return self.atom(depth)

    def atom(self, depth: int) -> Value:
        tok = self.take()
        if tok.kind == "NUMBER":
            return float(tok.value)  # type: ignore[arg-type]
        if tok.kind == "LPAREN":
            value = self.sum(depth + 1)
            close = self.take()
            if close.kind != "RPAREN":
                raise self.error("missing ')' to close the '(' here", tok)
            return value
        spec = _spec(tok)
        if spec is None:
            what = (
                "the expression ends too early" if tok.kind == "END" else f"unexpected {tok.text!r}"
            )
            raise self.error(
                f"{what}; expected a word, \"text\", @id, image:path, vec:name, a number or '('",
                tok,
            )
        return {spec: WeightedTerm(spec, 1.0, tok.column)}

    def combine(self, a: Value, b: Value, sign: float, op: Token) -> Value:
        if isinstance(a, float) and isinstance(b, float):
            return self.finite(a + sign * b, op)
        if isinstance(a, float) or isinstance(b, float):
            raise self.error(
                "cannot add a number to a term; to weight a term write e.g. 2 * word", op
            )
        out = dict(a)
        for spec, t in b.items():
            old = out.get(spec)
            weight = sign * t.weight + (old.weight if old else 0.0)
            out[spec] = WeightedTerm(spec, self.finite(weight, op), old.column if old else t.column)
        if len(out) > MAX_TERMS:
            raise self.error(f"at most {MAX_TERMS} distinct terms", op)
        return out

    def scale(self, v: Value, factor: float, op: Token) -> Value:
        if isinstance(v, float):
            return self.finite(v * factor, op)
        return {
            s: WeightedTerm(s, self.finite(t.weight * factor, op), t.column) for s, t in v.items()
        }

    def finite(self, x: float, op: Token) -> float:
        if not math.isfinite(x):
            raise self.error("a weight overflows to infinity", op)
        return x


def _spec(tok: Token) -> Spec | None:
    v = str(tok.value) if tok.value is not None else ""
    if tok.kind == "WORD":
        return Spec("word", v, v)
    if tok.kind == "STRING":
        return Spec("text", v, v)
    if tok.kind == "REF":
        return Spec("id", v, f"@{v}")
    if tok.kind == "IMAGE":
        if v.startswith("@") and len(v) > 1:  # image:@id is the item @id (its stored vector)
            return Spec("id", v[1:], f"@{v[1:]}")
        return Spec("image", v, f"image:{v}")  # a name: an image sent with the request, or a path
    if tok.kind == "VEC":
        return Spec("direction", v, f"vec:{v}")
    return None
