"""Near-duplicate articles (one wire story syndicated by several sites), found by MinHash LSH.

Each article gets a MinHash signature of its word 5-shingles (datasketch); articles whose
estimated Jaccard similarity reaches the threshold are grouped, transitively.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np

NUM_PERM = 128
SCHEME = "affine32"  # datasketch's hashing scheme; signatures are stored as its uint32 values
SIGNATURE_DTYPE = np.uint32
SHINGLE_WORDS = 5
MIN_WORDS = 40  # shorter texts share too few shingles to tell copies from look-alikes
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


def duplicate_groups(signatures: Mapping[str, np.ndarray], threshold: float) -> dict[str, str]:
    """``{article id: group id}`` for every article with at least one near-duplicate.

    The group id is the smallest article id of the group, so it is stable across rebuilds.
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
            if other != aid and minhash.jaccard(hashes[other]) >= threshold:
                a, b = root(aid), root(other)
                if a != b:
                    parent[max(a, b)] = min(a, b)
    members: dict[str, list[str]] = {}
    for aid in parent:
        members.setdefault(root(aid), []).append(aid)
    return {aid: group for group, ids in members.items() for aid in [*ids, group]}
