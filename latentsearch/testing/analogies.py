"""Word analogies: the Google analogy set, and top-1 agreement with a reference implementation.

``load_analogies`` reads the Google format (Mikolov et al. 2013): ``: section`` headers, then one
question ``a b c d`` per line, read "a is to b as c is to d". By default it reads the copy that
gensim ships as test data (``questions-words.txt``, 19,544 questions over 905 words).

``agreement`` compares latentsearch's answers with a reference that has gensim's
``KeyedVectors`` API (``most_similar``, ``most_similar_cosmul``, ``key_to_index``): a different
top-1 counts as a tie, not a disagreement, when the reference scores both words the same within
``tie`` (float32 rounding).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from latentsearch.errors import InvalidInputError
from latentsearch.results import Hit

TIE = 1e-6


@dataclass(frozen=True, slots=True)
class AnalogyQuestion:
    """``a`` is to ``b`` as ``c`` is to ``d``: asked as ``positive=[b, c], negative=[a]``."""

    section: str
    a: str
    b: str
    c: str
    d: str


def google_analogies_path() -> Path:
    """gensim's copy of the Google analogy set (needs gensim, a test and bench dependency)."""
    try:
        from gensim.test.utils import datapath
    except ImportError:
        raise InvalidInputError(
            "the Google analogy set ships with gensim: pip install gensim, or pass a path"
        ) from None
    return Path(datapath("questions-words.txt"))


def load_analogies(path: str | Path | None = None) -> list[AnalogyQuestion]:
    """Every question of a Google-format analogy file (gensim's copy when ``path`` is None)."""
    p = Path(path) if path is not None else google_analogies_path()
    out, section = [], ""
    for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1):
        if line.startswith(":"):
            section = line[1:].strip()
            continue
        if not line.strip():
            continue
        words = line.split()
        if len(words) != 4:
            raise InvalidInputError(f"{p}:{n}: expected 4 words 'a b c d', got {line!r}")
        out.append(AnalogyQuestion(section, *words))
    return out


def vocabulary(questions: Sequence[AnalogyQuestion]) -> list[str]:
    """The sorted distinct words of the questions."""
    return sorted({w for q in questions for w in (q.a, q.b, q.c, q.d)})


@dataclass(slots=True)
class Agreement:
    """Top-1 agreement of our answers with a reference's on the same questions."""

    questions: int = 0
    agree: int = 0
    ties: int = 0  # different word, same reference score within `TIE`
    ours_right: int = 0  # top-1 == d
    reference_right: int = 0
    max_score_diff: float = 0.0  # over agreeing answers: |our score - reference score|
    disagreements: list[tuple[AnalogyQuestion, str, str]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Agreement counting exact ties as agreement (the goal's figure)."""
        return (self.agree + self.ties) / self.questions if self.questions else 1.0


def agreement(
    reference: Any,
    questions: Sequence[AnalogyQuestion],
    ours: Sequence[Sequence[Hit]],
    method: str = "3cosadd",
    tie: float = TIE,
) -> Agreement:
    """Compare each question's top-1 hit with ``reference``'s (3CosAdd: ``most_similar``,
    3CosMul: ``most_similar_cosmul``)."""
    ask = reference.most_similar_cosmul if method == "3cosmul" else reference.most_similar
    out = Agreement()
    for q, hits in zip(questions, ours, strict=True):
        theirs, score = ask(positive=[q.b, q.c], negative=[q.a], topn=1)[0]
        mine = hits[0].id if hits else ""
        out.questions += 1
        out.ours_right += mine == q.d
        out.reference_right += theirs == q.d
        if mine == theirs:
            out.agree += 1
            out.max_score_diff = max(out.max_score_diff, abs(hits[0].score - score))
            continue
        every = ask(positive=[q.b, q.c], negative=[q.a], topn=None)
        idx = reference.key_to_index.get(mine)
        mine_score = float(every[idx]) if idx is not None else float("-inf")
        if abs(mine_score - score) <= tie * max(1.0, abs(score)):
            out.ties += 1
        else:
            out.disagreements.append((q, mine, theirs))
    return out
