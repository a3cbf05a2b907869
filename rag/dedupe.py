"""Near-duplicate articles (one wire story syndicated by several sites), found by MinHash LSH.

Each article gets a MinHash signature of its word 5-shingles (datasketch); articles whose
estimated Jaccard similarity reaches the threshold are grouped, transitively.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

import numpy as np

NUM_PERM = 128
SCHEME = "affine32"  # datasketch's hashing scheme; signatures are stored as its uint32 values
SIGNATURE_DTYPE = np.uint32
SHINGLE_WORDS = 5
MIN_WORDS = 40  # shorter texts share too few shingles to tell copies from look-alikes
# Below this length, equal texts under unrelated titles are scraping stubs (cookie walls, video
# player errors), not one story: RealTime QA has 28 pages sharing one 1,070-character stub.
LONG_TEXT_CHARS = 2000
TITLE_JACCARD = 0.5
_WORD = re.compile(r"\w+")


def signature(text: str) -> np.ndarray | None:
    """MinHash values of ``text``'s word shingles, or None for a text too short to compare.

    >>> a = signature("word " * 10 + "the wire story about the flood in the valley " * 9)
    >>> a.shape
    (128,)
    """
    from datasketch import MinHash

    words = _WORD.findall(text.lower())
    if len(words) < MIN_WORDS:
        return None
    shingles = {" ".join(words[i:i + SHINGLE_WORDS])
                for i in range(len(words) - SHINGLE_WORDS + 1)}
    minhash = MinHash(num_perm=NUM_PERM, scheme=SCHEME)
    minhash.update_batch([s.encode() for s in shingles])
    return minhash.hashvalues.astype(SIGNATURE_DTYPE)


def same_story(title_a: str, title_b: str, chars: int) -> bool:
    """Whether two near-identical texts (the shorter ``chars`` long) are one story: long ones
    are; short ones only under similar titles (or where a title is missing).

    >>> same_story("Biden honors Biles", "Biden honors Simone Biles", 900)
    True
    >>> same_story("Kanye West buys Parler", "Local elections polls", 1070)
    False
    """
    if chars >= LONG_TEXT_CHARS or not title_a or not title_b:
        return True
    a, b = set(_WORD.findall(title_a.lower())), set(_WORD.findall(title_b.lower()))
    return len(a & b) / max(1, len(a | b)) >= TITLE_JACCARD


def duplicate_groups(signatures: Mapping[str, np.ndarray], threshold: float,
                     also: Callable[[str, str], bool] | None = None) -> dict[str, str]:
    """``{article id: group id}`` for every article with at least one near-duplicate.

    Two articles are near-duplicates when their estimated Jaccard similarity reaches
    ``threshold`` and ``also(id_a, id_b)`` (if given) agrees. The group id is the smallest
    article id of the group, so it is stable across rebuilds.
    """
    from datasketch import MinHash, MinHashLSH

    if threshold >= 1 or len(signatures) < 2:
        return {}
    lsh = MinHashLSH(threshold=threshold, num_perm=NUM_PERM)
    hashes = {aid: MinHash(num_perm=NUM_PERM, hashvalues=sig, scheme=SCHEME)
              for aid, sig in signatures.items()}
    with lsh.insertion_session() as session:
        for aid, minhash in hashes.items():
            session.insert(aid, minhash)
    parent: dict[str, str] = {}

    def root(x: str) -> str:
        while parent.get(x, x) != x:
            x = parent[x]
        return x

    for aid, minhash in hashes.items():
        for other in lsh.query(minhash):
            if (other != aid and minhash.jaccard(hashes[other]) >= threshold
                    and (also is None or also(aid, other))):
                a, b = root(aid), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    for aid in parent:
        members.setdefault(root(aid), []).append(aid)
    return {aid: group for group, ids in members.items() for aid in [*ids, group]}
