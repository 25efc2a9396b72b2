"""The tokenizer of the expression language (see `latentsearch.query.expressions` for the grammar)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from latentsearch.errors import ExpressionError

PREFIXES = {"image": "image", "vec": "direction"}
_RUN_STOP = set("\"'()*+")


@dataclass(frozen=True, slots=True)
class Token:
    kind: str  # NUMBER WORD STRING REF IMAGE VEC OP LPAREN RPAREN END
    text: str
    value: object
    column: int


class Lexer:
    """Splits an expression into `Token`s; errors carry the 1-based column."""

    def __init__(self, src: str) -> None:
        self.src, self.i = src, 0

    def error(self, msg: str, at: int) -> ExpressionError:
        return ExpressionError(msg, self.src, at + 1)

    def tokens(self) -> list[Token]:
        out = []
        src = self.src
        while True:
            while self.i < len(src) and src[self.i].isspace():
                self.i += 1
            if self.i >= len(src):
                out.append(Token("END", "", None, self.i + 1))
                return out
            out.append(self._one())

    def _one(self) -> Token:
        src, start = self.src, self.i
        c = src[start]
        if c in "+-*/":
            self.i += 1
            return Token("OP", c, c, start + 1)
        if c in "()":
            self.i += 1
            return Token("LPAREN" if c == "(" else "RPAREN", c, c, start + 1)
        if c in "\"'":
            value = self._string()
            return Token("STRING", src[start : self.i], value, start + 1)
        if c.isdigit() or (c == "." and start + 1 < len(src) and src[start + 1].isdigit()):
            return self._number()
        if c == "@":
            self.i += 1
            value = self._operand("@", start)
            return Token("REF", src[start : self.i], value, start + 1)
        if c.isalpha() or c == "_":
            self.i += 1
            while self.i < len(src) and (src[self.i].isalnum() or src[self.i] in "_'."):
                self.i += 1
            word = src[start : self.i]
            if self.i < len(src) and src[self.i] == ":":
                if word not in PREFIXES:
                    raise self.error(
                        f"unknown prefix {word + ':'!r}; use image:<path> or vec:<name>", start
                    )
                self.i += 1
                kind = "IMAGE" if word == "image" else "VEC"
                value = self._operand(word + ":", start)
                return Token(kind, src[start : self.i], value, start + 1)
            return Token("WORD", word, word, start + 1)
        raise self.error(f"unexpected character {c!r}", start)

    def _string(self) -> str:
        src, start = self.src, self.i
        quote, self.i, out = src[start], start + 1, []
        while self.i < len(src):
            c = src[self.i]
            if c == "\\" and self.i + 1 < len(src) and src[self.i + 1] in (quote, "\\"):
                out.append(src[self.i + 1])
                self.i += 2
                continue
            self.i += 1
            if c == quote:
                text = "".join(out)
                if not text.strip():
                    raise self.error("empty quoted text", start)
                return text
            out.append(c)
        raise self.error(f"unterminated quoted text: no closing {quote}", start)

    def _number(self) -> Token:
        src, start = self.src, self.i
        while self.i < len(src) and (src[self.i].isdigit() or src[self.i] == "."):
            self.i += 1
        if self.i < len(src) and src[self.i] in "eE":
            j = self.i + 1
            if j < len(src) and src[j] in "+-":
                j += 1
            if j < len(src) and src[j].isdigit():
                self.i = j
                while self.i < len(src) and src[self.i].isdigit():
                    self.i += 1
        text = src[start : self.i]
        try:
            value = float(text)
        except ValueError:
            raise self.error(f"malformed number {text!r}", start) from None
        if not math.isfinite(value):
            raise self.error(f"number {text!r} is out of range", start)
        if self.i < len(src) and (src[self.i].isalpha() or src[self.i] == "_"):
            raise self.error(
                f"a number must be followed by an operator, e.g. '{text} * word'", self.i
            )
        return Token("NUMBER", text, value, start + 1)

    def _operand(self, prefix: str, start: int) -> str:
        src = self.src
        if self.i < len(src) and src[self.i] in "\"'":
            return self._string()
        begin = self.i
        while self.i < len(src) and not src[self.i].isspace() and src[self.i] not in _RUN_STOP:
            self.i += 1
        if self.i == begin:
            raise self.error(f"{prefix} needs a value right after it, e.g. {prefix}name", start)
        return src[begin : self.i]
