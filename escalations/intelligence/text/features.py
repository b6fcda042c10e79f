"""Hashed word and character n-grams: the same pure-Python code at training and at intake.

A case's text (title, weighted twice, and description) becomes a sparse vector of
``BUCKETS`` hash buckets: word unigrams and bigrams, and the character 3- to 5-grams of
each word padded with spaces (scikit-learn's ``char_wb``). Values are counts scaled to unit
length, so a score is an exact sum of per-feature parts and can be told back per word
(``explain``). The hash is CRC-32, not Python's ``hash`` (which changes per process).
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter, defaultdict

BUCKETS = 2**18
CHAR_N = (3, 4, 5)
WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_CHARS = 4000  # a pasted log file says nothing more after its first page


def words(text: str) -> list[str]:
    return WORD.findall((text or "")[:MAX_CHARS].lower())


def case_text(title: str, description: str) -> str:
    return f"{title}\n{title}\n{description}"


def _bucket(feature: str) -> int:
    return zlib.crc32(feature.encode("utf-8")) % BUCKETS


def features(text: str) -> list[tuple[str, str]]:
    """(feature, the word it came from) for every n-gram of the text; a bigram is told
    back to its first word."""
    tokens = words(text)
    out: list[tuple[str, str]] = []
    for i, tok in enumerate(tokens):
        out.append(("w:" + tok, tok))
        padded = f" {tok} "
        for n in CHAR_N:
            for j in range(max(1, len(padded) - n + 1)):
                out.append(("c:" + padded[j : j + n], tok))
        if i + 1 < len(tokens):
            out.append(("b:" + tok + " " + tokens[i + 1], tok))
    return out


def vector(text: str) -> dict[int, float]:
    """Bucket -> value: counts scaled to unit length."""
    counts = Counter(_bucket(f) for f, _w in features(text))
    norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
    return {b: c / norm for b, c in counts.items()}


def word_parts(text: str) -> tuple[dict[str, dict[int, float]], float]:
    """Per word, the bucket weights its features add (before scaling), and the norm that
    scales the whole vector: score(word) = sum(weight * coef[bucket]) / norm."""
    feats = features(text)
    counts = Counter(_bucket(f) for f, _w in feats)
    norm = math.sqrt(sum(c * c for c in counts.values())) or 1.0
    parts: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    for feature, word in feats:
        parts[word][_bucket(feature)] += 1.0
    return parts, norm


def matrix(texts: list[str]):
    """A SciPy CSR matrix of the texts' vectors (training only)."""
    import numpy as np
    from scipy.sparse import csr_matrix

    data, indices, indptr = [], [], [0]
    for text in texts:
        vec = vector(text)
        indices.extend(vec.keys())
        data.extend(vec.values())
        indptr.append(len(indices))
    return csr_matrix(
        (np.asarray(data, dtype=np.float64), np.asarray(indices, dtype=np.int64), np.asarray(indptr, dtype=np.int64)),
        shape=(len(texts), BUCKETS),
    )
