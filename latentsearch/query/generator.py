"""Answer generators: write an answer from an answer card's passages only, citing them by number.

Off by default: `Collection.answer` is extractive unless it is given a generator. The one
implementation, `ChatGenerator`, speaks the OpenAI chat-completions wire format (``POST
{url}/chat/completions``), which vLLM, llama.cpp's server, Ollama, LiteLLM and the hosted APIs all
serve, so any of them can be plugged in by URL. The prompt holds the question and the numbered
passages the caller may see, nothing else; the API key is read from the environment at call time
so it never sits in an object that could be printed or logged.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from latentsearch.checks import check_text
from latentsearch.errors import GeneratorError, InvalidInputError, MissingExtraError
from latentsearch.results import Passage

ENV_URL = "LATENTSEARCH_GENERATOR_URL"
ENV_MODEL = "LATENTSEARCH_GENERATOR_MODEL"
ENV_KEY = "LATENTSEARCH_GENERATOR_API_KEY"
_CITE = re.compile(r"\[(\d{1,4})\]")

SYSTEM_PROMPT = (
    "You answer questions using only the numbered passages given to you. Cite the passage "
    "that supports each statement by its number in square brackets, like [1] or [2][3]. If the "
    "passages do not answer the question, say that the sources do not answer it. Do not use any "
    "other knowledge."
)


class Generator(Protocol):
    """Writes an answer to ``question`` from ``passages`` only, citing them as ``[number]``."""

    @property
    def name(self) -> str: ...

    def generate(self, question: str, passages: Sequence[Passage]) -> str: ...


def prompt(question: str, passages: Sequence[Passage]) -> list[dict[str, str]]:
    """The chat messages for ``question``: the instructions, then the question and the numbered
    passages (title and text) and nothing else."""
    blocks = []
    for p in passages:
        title = p.citation.title or p.citation.doc_id
        blocks.append(f"[{p.number}] {title}\n{p.text}")
    user = f"Question: {question}\n\nPassages:\n\n" + "\n\n".join(blocks)
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def cited(text: str, passages: Sequence[Passage]) -> list[int]:
    """The passage numbers ``text`` cites that exist, in order of first citation."""
    numbers = {p.number for p in passages}
    out: dict[int, None] = {}
    for m in _CITE.finditer(text):
        n = int(m.group(1))
        if n in numbers:
            out.setdefault(n, None)
    return list(out)


@dataclass(frozen=True, slots=True)
class ChatGenerator:
    """An OpenAI-compatible chat-completions endpoint.

    ``url``: the API base (``http://host:8000/v1``) or the full ``.../chat/completions`` URL.
    ``model``: the model name the endpoint expects. The bearer key, if the endpoint needs one,
    is read from the environment variable ``api_key_env`` when a request is made.
    """

    url: str
    model: str
    api_key_env: str = ENV_KEY
    timeout: float = 60.0
    max_tokens: int = 512
    temperature: float = 0.0

    def __post_init__(self) -> None:
        for what, value in (("generator url", self.url), ("generator model", self.model)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"the {what} must be a non-empty string")
            check_text(value, f"the {what}")
        if not self.url.lower().startswith(("http://", "https://")):
            raise InvalidInputError(
                f"the generator url must start with http:// or https://, not {self.url!r}"
            )
        if not self.timeout > 0 or self.max_tokens < 1:
            raise InvalidInputError("the generator needs a positive timeout and max_tokens")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ChatGenerator | None:
        """The generator that ``LATENTSEARCH_GENERATOR_URL`` and ``..._MODEL`` configure, or None
        when no URL is set (answers stay extractive)."""
        env = os.environ if environ is None else environ
        url = env.get(ENV_URL, "").strip()
        if not url:
            return None
        model = env.get(ENV_MODEL, "").strip()
        if not model:
            raise InvalidInputError(f"{ENV_URL} is set: set {ENV_MODEL} to the model name too")
        return cls(url=url, model=model)

    @property
    def name(self) -> str:
        return self.model

    @property
    def endpoint(self) -> str:
        base = self.url.rstrip("/")
        return base if base.endswith("/chat/completions") else f"{base}/chat/completions"

    def generate(self, question: str, passages: Sequence[Passage]) -> str:
        try:
            import httpx
        except ImportError as exc:  # pragma: no cover - httpx comes with the server extra
            raise MissingExtraError(
                "answer generation needs httpx: pip install 'latentsearch[server]'"
            ) from exc
        body = {
            "model": self.model,
            "messages": prompt(question, passages),
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
        }
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        try:
            response = httpx.post(self.endpoint, json=body, headers=headers, timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise GeneratorError(
                f"the answer generator at {self.endpoint} could not be reached ({exc}); "
                f"check {ENV_URL} and that the model server is running"
            ) from exc
        if response.status_code != 200:
            raise GeneratorError(
                f"the answer generator at {self.endpoint} answered HTTP {response.status_code}: "
                f"{response.text[:300]}"
            )
        return _content(response.json() if _is_json(response) else None, self.endpoint)


def _is_json(response: Any) -> bool:
    return "json" in response.headers.get("content-type", "")


def _content(data: Any, endpoint: str) -> str:
    """``choices[0].message.content`` of a chat-completions response."""
    try:
        text = data["choices"][0]["message"]["content"]
    except (TypeError, KeyError, IndexError):
        text = None
    if not isinstance(text, str) or not text.strip():
        raise GeneratorError(
            f"the answer generator at {endpoint} gave no answer text "
            "(expected choices[0].message.content in a chat-completions response)"
        )
    return text.strip()
