"""Counting words and estimating reading time: the logic, kept apart from the web layer."""

from __future__ import annotations

import re
from collections import Counter

WORD = re.compile(r"[^\W\d_]+(?:['’-][^\W\d_]+)*", re.UNICODE)
SENTENCE_END = re.compile(r"[.!?]+(?:\s|$)")
WORDS_PER_MINUTE = 230

STOP_WORDS = frozenset(
    "a an and are as at be but by for from has have he her his i in is it its of on or she so "
    "that the their them there they this to was we were what when which who will with you your".split()
)


def analyse(text: str, top: int = 5) -> dict:
    words = WORD.findall(text)
    lowered = [w.lower() for w in words]
    sentences = max(1, len(SENTENCE_END.findall(text))) if words else 0
    common = Counter(w for w in lowered if w not in STOP_WORDS).most_common(top)
    return {
        "characters": len(text),
        "words": len(words),
        "sentences": sentences,
        "unique_words": len(set(lowered)),
        "average_word_length": round(sum(map(len, words)) / len(words), 2) if words else 0,
        "reading_time_seconds": round(len(words) / WORDS_PER_MINUTE * 60),
        "top_words": [{"word": w, "count": c} for w, c in common],
    }
