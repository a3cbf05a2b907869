"""RagSystem: one index (or several collections asked as one), its embedding model, retriever
and answerer, behind ask()."""

from __future__ import annotations

import numbers
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from embeddings import ALIASES, BACKENDS, DEFAULT_BACKEND, get_embedder, model_identity
from embeddings.base import Embedder
from embeddings.lazy import LazyEmbedder
from rag.answering import check_backend, get_answerer
from rag.answering.base import Answerer
from rag.articles import Article, check_paths, clean_line, load_paths
from rag.briefing.build import ArticleSet, briefing_title
from rag.briefing.span import briefing_window
from rag.chain import AskChain, CheckedAsk
from rag.collections import Collections, collection_config
from rag.config import DEFAULT_COLLECTION, Config
from rag.errors import BadInputError, IndexMismatchError
from rag.index import NewsIndex, check_index, open_index
from rag.index.base import Hit, HNSWIndex, IndexStats, SearchFilters, VectorParams
from rag.ingest import IngestReport, ProgressCallback, ingest_articles
from rag.notices import notice_once
from rag.retrieval import NewsRetriever, Retriever, make_filters
from rag.retrieval.dates import reference_day
from rag.retrieval.merged import MergedIndex, MergedRetriever
from rag.types import Answer, Briefing, StageDone

SAMPLE_CORPUS = Path(__file__).resolve().parent.parent / "data" / "sample"


class RagSystem:
    """The index of one collection, or of several asked as one, opened with its model: ingest
    articles, ask questions.

    ``config.collections`` says which (docs/collections.md): ``default`` (the default) is the
    index at ``config.index_dir``, as before collections; a named one must exist
    (``create_collection``). :meth:`over` gives the system over other collections of the same
    index, sharing this one's model, answerers and opened indexes. A write goes to exactly one
    collection.

    >>> import tempfile
    >>> system = RagSystem(Config(index_dir=tempfile.mkdtemp()))
    >>> system.ingest_paths([SAMPLE_CORPUS]).added
    7
    >>> answer = system.ask("Where is the nuclear plant being built?")
    >>> "Bushehr" in answer.text
    True
    """

    def __init__(self, config: Config | None = None, *, embedder: Embedder | None = None,
                 create: bool = True, read_only: bool = False) -> None:
        """``create=False``: the index must exist (``IndexNotFoundError`` names the path); a
        named collection always must (``CollectionNotFoundError`` names it). ``read_only``: the
        index is only read (nothing written, not even derived files; a write raises
        ``IndexReadOnlyError``), as it is when its folder cannot be written."""
        config = config or Config.from_env()
        shared = _Shared(config, embedder, create, read_only)
        # Before the model loads: a typo'd --index or collection fails at once.
        Collections(config).require(config.collections)
        with shared.lock:
            self._open(shared, config.collections)

    def _open(self, shared: _Shared, names: tuple[str, ...]) -> None:
        """Become the system over collections ``names`` of ``shared``'s index: one collection's
        own index and retriever, or several's merged."""
        self._shared = shared
        self.collections = names
        self._answerers = shared.answerers
        self._chains: dict[str, AskChain] = {}
        self._write_lock = threading.Lock()
        self._index: NewsIndex | None
        self.retriever: Retriever
        if len(names) == 1:
            self.config = collection_config(shared.config, names[0])
            self._index = self._open_collection(names[0])
            self.retriever = Retriever(self._index, shared.model(), self.config)
            self._members: tuple[RagSystem, ...] = (self,)
        else:
            self.config = shared.config.replace(collections=names)
            self._members = tuple(shared.view((name,)) for name in names)
            self._index = None
            self.retriever = MergedRetriever([m.retriever for m in self._members])
        self.embedder = shared.model()
        self.embedding_backend = shared.backend
        shared.views[names] = self

    def _open_collection(self, name: str) -> NewsIndex:
        """The index of collection ``name`` (this system's config is its); the first one opened
        chooses the embedding backend and makes the one embedder every collection shares."""
        shared, config = self._shared, self.config
        default = name == DEFAULT_COLLECTION
        create = shared.create and default  # a named collection is made by create_collection
        check_index(config.index_backend, config.index_dir,
                    create=create and not shared.read_only)
        if shared.embedder is not None:  # the model is chosen: this index must hold its vectors
            return open_index(config.index_backend, config.index_dir,
                              model=model_identity(config.embedding_model, shared.backend),
                              dimension=shared.embedder.dimension, params=vector_params(config),
                              create=create, dsn=config.pg_dsn or None,
                              read_only=shared.read_only, lock_timeout_s=config.lock_timeout_s,
                              collection=name)
        given = shared.given
        index, backend = self._open_index(given, create, shared.read_only, name)
        if isinstance(given, LazyEmbedder):
            given.backend = backend
        shared.backend = backend
        shared.embedder = given or get_embedder(config.embedding_model, backend,
                                                threads=config.embedding_threads)
        return index

    def _open_index(self, embedder: Embedder | None, create: bool,  # type: ignore[no-untyped-def]
                    read_only: bool, collection: str):
        """The index, opened for the vectors of the configured model on the first backend it
        accepts (one backend unless ``embedding_backend`` is ``auto``), and that backend."""
        config = self.config
        dimension = embedder.dimension if embedder is not None else None
        first_error: IndexMismatchError | None = None
        candidates = embedding_backends(config, embedder)
        for backend in candidates:
            if dimension is None:
                from embeddings.sentence_transformers import configured_dimension

                dimension = configured_dimension(config.embedding_model) or get_embedder(
                    config.embedding_model, backend, threads=config.embedding_threads).dimension
            try:
                index = open_index(config.index_backend, config.index_dir,
                                   model=model_identity(config.embedding_model, backend),
                                   dimension=dimension, params=vector_params(config),
                                   create=create, dsn=config.pg_dsn or None,
                                   read_only=read_only, lock_timeout_s=config.lock_timeout_s,
                                   collection=collection)
            except IndexMismatchError as exc:
                first_error = first_error or exc
                continue
            if backend != candidates[0]:
                suggest_reindex(config, backend)
            return index, backend
        raise IndexMismatchError(
            f"{first_error}. An index holds the vectors of one model and embedding backend "
            f"(here embedding_backend={config.embedding_backend}): set RAG_EMBEDDING_BACKEND "
            "to the one it was built with, or re-embed it with `rag reindex --backend ...`"
        ) from None

    # --- collections -----------------------------------------------------------------------
    @property
    def index(self) -> NewsIndex:
        """The index of this system's one collection; a system over several has no one index
        (BadInputError naming them: ``over(name)`` gives one's)."""
        if self._index is None:
            raise BadInputError(f"this system reads the collections {', '.join(self.collections)}"
                                ": choose one (RagSystem.over(name))")
        return self._index

    @property
    def collection(self) -> str:
        """The one collection this system writes to; over several, a BadInputError: a write
        goes to exactly one."""
        return self._target().collection

    def _target(self) -> NewsIndex:
        """The index a write goes to: the one collection's (over several: BadInputError)."""
        if len(self.collections) != 1:
            raise BadInputError(f"a write goes to one collection, and this one reads "
                                f"{len(self.collections)} ({', '.join(self.collections)}): "
                                "choose one")
        return self.index

    def over(self, collections: str | Sequence[str]) -> RagSystem:
        """The system over ``collections`` (a name, or several asked as one) of this system's
        index, sharing its model, answerers and opened indexes; made once, then reused. An
        unknown collection is a CollectionNotFoundError naming it (checked on every call: one
        deleted meanwhile is refused).

        >>> import tempfile
        >>> from embeddings.lazy import LazyEmbedder  # the model loads when something is embedded
        >>> system = RagSystem(Config(index_dir=tempfile.mkdtemp()),
        ...                    embedder=LazyEmbedder("all-MiniLM-L6-v2"))
        >>> both = system.create_collection("sports").over(["default", "sports"])
        >>> both.collections, both.embedder is system.embedder
        (('default', 'sports'), True)
        """
        return self._shared.view(self.shelf.require(collections))

    @property
    def shelf(self) -> Collections:
        """The collections of this system's index (whichever this system reads)."""
        return Collections(self._shared.config)

    def collection_names(self) -> list[str]:
        """The collections of this system's index: ``default`` first, then the others sorted."""
        return self.shelf.names()

    def create_collection(self, name: str) -> RagSystem:
        """Make the empty collection ``name`` (for this system's model) and return its system;
        a name taken is a CollectionExistsError."""
        first = self._members[0].index
        self.shelf.create(name, model=first.model, dimension=first.dimension)
        return self.over(name)

    def delete_collection(self, name: str, *,
                          before: Callable[[str], None] | None = None) -> None:
        """Delete collection ``name`` whole (articles, vectors, BM25 builds, feeds) and nothing
        else; ``default`` is refused. Systems over it, this one included, are closed.
        ``before(name)`` runs once the collection is known to be deletable and before anything
        of it goes (a server stops the collection's feed sync there)."""
        shelf = self.shelf
        shelf.deletable(name)
        if before is not None:
            before(name)
        self._shared.forget(name)
        shelf.delete(name)

    # --- writing ---------------------------------------------------------------------------
    def ingest_paths(self, paths: Iterable[str | Path], *, commit_every: int = 0,
                     progress: ProgressCallback | None = None,
                     show_progress: bool = False) -> IngestReport:
        """Load files and folders, then ingest; unreadable inputs are reported, not fatal. A
        path that does not exist is a BadInputError naming it (nothing is ingested)."""
        self._target()  # before any file is read
        loaded = load_paths(check_paths(paths))
        report = self.ingest(loaded.articles, commit_every=commit_every, progress=progress,
                             show_progress=show_progress)
        report.failures = loaded.failures + report.failures
        report.notes = loaded.notes + report.notes
        return report

    def ingest(self, articles: Iterable[Article], *, commit_every: int = 0,
               progress: ProgressCallback | None = None,
               show_progress: bool = False) -> IngestReport:
        """Add or replace ``articles`` in this system's one collection (over several: a
        BadInputError, nothing written)."""
        index = self._target()
        with self._write_lock:
            report = ingest_articles(index, self.embedder, self.config, articles,
                                     commit_every=commit_every, progress=progress,
                                     show_progress=show_progress)
            # BM25 and duplicate groups are rebuilt now, not on the first question.
            self.retriever.refresh()
            return report

    def delete(self, article_ids: Iterable[str]) -> int:
        """Remove articles by id from this system's one collection; returns how many existed
        there."""
        index = self._target()
        ids = [i for i in article_ids if index.get_article(i) is not None]
        if ids:
            with self._write_lock:
                index.write([], ids)
                self.retriever.refresh()
        return len(ids)

    # --- reading ---------------------------------------------------------------------------
    def answerer(self, name: str | None = None) -> Answerer:
        name = name or self.config.answer_backend
        if name not in self._answerers:
            self._answerers[name] = get_answerer(name, self.embedder, self.config)
        return self._answerers[name]

    def chain(self, backend: str | None = None) -> AskChain:
        """The path of a question through the answer backend ``backend`` (default: the
        config's), built once per answerer."""
        name = backend or self.config.answer_backend
        answerer = self.answerer(name)
        chain = self._chains.get(name)
        if chain is None or chain.answerer is not answerer:  # replaced since (a test's fake)
            chain = self._chains[name] = AskChain(self.retriever, answerer)
        return chain

    def ask(self, question: str | CheckedAsk, *, k: int | None = None,
            filters: SearchFilters | None = None, history: list[str] | None = None,
            backend: str | None = None, reference_date: str | None = None,
            timeline: bool | None = None) -> Answer:
        """Answer ``question`` from the index, every claim cited.

        ``reference_date`` (ISO date) is "today" for time phrases in the question; by default
        the config's ``reference_date``, else the real today. ``timeline``: True answers with
        a timeline (``Answer.timeline``: the dated events of the story, oldest first), False
        never, None when the question's words ask for one ("what happened with X since
        June?"). A ``question`` that :func:`check_ask` already checked comes with its options
        and is not checked again.
        """
        asked = self._checked(question, k=k, filters=filters, history=history,
                              backend=backend, reference_date=reference_date,
                              timeline=timeline)
        return self.chain(asked.backend).invoke(asked)

    def ask_stream(self, question: str | CheckedAsk, *, k: int | None = None,
                   filters: SearchFilters | None = None, history: list[str] | None = None,
                   backend: str | None = None, reference_date: str | None = None,
                   timeline: bool | None = None) -> Iterator[str | StageDone | Answer]:
        """Like :meth:`ask`, streamed: the same stages, each yielded as it ends
        (:class:`~rag.types.StageDone`: retrieve, then answer), text deltas while an LLM
        writes (its [n] are passage numbers, as in the final answer), then the verified
        Answer, which replaces the text. Backends without streaming yield no deltas."""
        asked = self._checked(question, k=k, filters=filters, history=history,
                              backend=backend, reference_date=reference_date,
                              timeline=timeline)
        yield from self.chain(asked.backend).events(asked)

    def timeline(self, topic: str, since: str | None = None, until: str | None = None, *,
                 as_of: str | None = None) -> Answer:
        """The timeline of ``topic``: its events published ``since``/``until`` (ISO dates,
        None: open), oldest first, each one line (its day, a cited sentence reporting it, how
        many sources did), in ``Answer.timeline`` and as the Answer's text. ``as_of`` (ISO
        date) is "today" (later articles are left out). A bad date, or ``since`` after
        ``until``, is a BadInputError naming it ("the date range is empty: since 2025-03-01 is
        after until 2025-02-01").
        """
        filters = make_filters(None, since, until, since_name="since", until_name="until")
        return self.ask(check_ask(self.config, topic, filters=filters, reference_date=as_of,
                                  timeline=True))

    def brief(self, since: str | None = None, until: str | None = None, *,
              topic: str | None = None, as_of: str | None = None,
              articles: ArticleSet | None = None) -> Answer:
        """What's new: the main stories published ``since`` (an ISO date, or a span counted
        back from ``until`` or today: "24h" (the default), "7d", "2w", "yesterday", "this
        week") until ``until`` (ISO; default ``as_of``, else the config's reference date,
        else today), on ``topic`` if given, of the ``articles`` of one followed feed only if
        given (``rag.feeds.feed_articles``). Each story is one cited sentence with its
        sources, the most widely reported first, in ``Answer.briefing`` and as the Answer's
        text. A bad date or span, ``until`` before ``since`` or an empty index is a
        BadInputError naming it.
        """
        reference = reference_day(as_of or self.config.reference_date)
        window = briefing_window(since, until, reference)
        topic = check_line(topic, "the topic", self.config) if topic is not None else None
        if self.is_empty():
            raise BadInputError("the index holds no articles to brief on: ingest some first "
                                "(rag ingest PATH)")
        chain = self.chain()
        plan = chain.briefings.plan(window, reference, topic=topic, articles=articles)
        title = briefing_title(Briefing(*window.to_iso(), topic or None,
                                        feed=articles.name if articles else None))
        return chain.brief(title, plan)

    def _checked(self, question: str | CheckedAsk, **options: Any) -> CheckedAsk:
        if not isinstance(question, CheckedAsk):
            return check_ask(self.config, question, **options)
        if any(value is not None for value in options.values()):
            raise TypeError("a CheckedAsk carries its options: pass none beside it")
        return question

    def langchain_retriever(self, k: int | None = None,
                            filters: SearchFilters | None = None) -> NewsRetriever:
        return NewsRetriever(retriever=self.retriever, k=k or self.config.top_k, filters=filters)

    def search(self, query: str, k: int | None = None,
               filters: SearchFilters | None = None) -> list[Hit]:
        """The ``k`` passages most relevant to ``query`` (checked like a question), best first:
        the search :meth:`ask` starts with, without the answer."""
        return self.retriever.retrieve(self.check_question(query), k, filters)

    def check_question(self, question: str) -> str:
        """The question on one line, without control characters, bidi overrides or lone
        surrogates (which no tokenizer encodes); empty or too long ones are refused."""
        return check_question(question, self.config)

    def stats(self) -> IndexStats:
        """The index's articles, chunks, model and size; over several collections, summed."""
        if self._index is None:
            return MergedIndex([m.index for m in self._members]).stats()
        return self._index.stats()

    def is_empty(self) -> bool:
        return all(m.index.stats().articles == 0 for m in self._members)


def vector_params(config: Config) -> VectorParams | None:
    """The vector index parameters ``config`` sets (None: the backend's default)."""
    if config.index_backend == "pgvector":
        return HNSWIndex(ef_search=config.pg_ef_search)
    return None


def check_line(text: object, name: str, config: Config) -> str:
    """``text`` cleaned to one line; not text, or longer than ``max_question_chars``: a
    BadInputError starting with ``name``."""
    if not isinstance(text, str):
        raise BadInputError(f"{name} must be text, not {type(text).__name__}")
    text = clean_line(text)
    if len(text) > config.max_question_chars:
        raise BadInputError(f"{name} is {len(text):,} characters long; the limit is "
                            f"{config.max_question_chars:,}")
    return text


def check_question(question: object, config: Config) -> str:
    """The question cleaned to one line (:func:`check_line`); an empty one is refused."""
    question = check_line(question, "the question", config)
    if not question:
        raise BadInputError("the question is empty: type a question about the articles")
    return question


def check_history(history: Sequence[str] | None, config: Config) -> list[str]:
    """The last ``max_history_turns`` earlier questions, each cleaned and checked like the
    question (blank ones left out); a turn that is not text or too long is refused by its
    place in ``history``.

    >>> check_history(["Q1?", "Q2\\ud800?", "  "], Config(max_history_turns=2))
    ['Q2?']
    >>> check_history(["x" * 3000, "Q2?"], Config())  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: history[0] (an earlier question) is 3,000 characters long; ...
    """
    if history is None:
        return []
    if isinstance(history, str) or not isinstance(history, Sequence):
        raise BadInputError("history must be a list of the earlier questions, not "
                            f"{type(history).__name__}")
    first = max(0, len(history) - config.max_history_turns)
    turns = (check_line(turn, f"history[{i}] (an earlier question)", config)
             for i, turn in enumerate(history[first:], start=first))
    return [turn for turn in turns if turn]


def check_ask(config: Config, question: object, *, k: object = None,
              history: Sequence[str] | None = None, filters: SearchFilters | None = None,
              backend: str | None = None, reference_date: str | None = None,
              timeline: bool | None = None) -> CheckedAsk:
    """The arguments of :meth:`RagSystem.ask`, checked once before any model loads (the CLI
    and the HTTP API call it, then ask with the result): a bad question, ``k``, answer
    backend, reference date, history or timeline flag is a BadInputError naming it.

    >>> check_ask(Config(), "  Who won? ", k=3)  # doctest: +NORMALIZE_WHITESPACE
    CheckedAsk(question='Who won?', history=(), k=3, filters=None, backend=None,
               reference_date=None, timeline=None)
    >>> check_ask(Config(), "Who won?", reference_date="last tuesday")
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: reference date 'last tuesday' is not a date: write it as YYYY-MM-DD
    """
    question, k = check_question(question, config), check_k(k)
    check_backend(backend or config.answer_backend)
    if reference_date:
        reference_day(reference_date)
    if timeline is not None and not isinstance(timeline, bool):
        raise BadInputError(f"timeline must be true, false or null (detect it from the "
                            f"question), not {timeline!r}")
    return CheckedAsk(question, tuple(check_history(history, config)), k, filters, backend,
                      reference_date, timeline)


def check_k(k: object) -> int | None:
    """``k`` (passages to retrieve) as given, None for the default; anything but a whole
    number from 1 up is refused, naming the value.

    >>> check_k(-1)
    Traceback (most recent call last):
    ...
    rag.errors.BadInputError: k must be a whole number greater than 0. Currently, k is -1
    """
    if k is None:
        return None
    if isinstance(k, bool) or not isinstance(k, numbers.Integral) or k <= 0:
        raise BadInputError(
            f"k must be a whole number greater than 0. Currently, k is {k!r}")
    return int(k)


def embedding_backends(config: Config, embedder: Embedder | None = None) -> list[str]:
    """The embedding backends an index may be opened with, in order of preference: the given
    embedder's, or the configured one, or for ``auto`` the default then the others.

    >>> embedding_backends(Config(embedding_backend="torch"))
    ['torch']
    """
    wanted = config.embedding_backend
    own = getattr(embedder, "backend", None) if embedder is not None else None
    own = ALIASES.get(own, own) if isinstance(own, str) else own
    if own in BACKENDS:
        if wanted not in ("auto", own):
            raise BadInputError(f"embedding_backend is {wanted!r} but the embedder given runs "
                                f"on {own!r}")
        return [own]
    if wanted != "auto":
        return [wanted]
    if embedder is not None and own is None:
        return ["torch"]  # an embedder of its own kind (a test fake): vectors as before backends
    return [DEFAULT_BACKEND, *(b for b in BACKENDS if b != DEFAULT_BACKEND)]


def suggest_reindex(config: Config, backend: str) -> None:
    """Once per index and machine: an index that ``auto`` opened with an older backend than
    today's default could be re-embedded (``rag reindex``) to answer faster."""
    if config.index_backend != "faiss":  # rag reindex swaps folders; pgvector: a new index
        return
    where = Path(config.index_dir)
    notice_once(f"reindex:{where.resolve()}",
                f"note: the index at {where} was built with the {backend} embedding backend; "
                f"new indexes use {DEFAULT_BACKEND}, which answers in about half the time. "
                f"It keeps working as it is; to switch: rag reindex --index {where} "
                f"--backend {DEFAULT_BACKEND}")


class _Shared:
    """What the systems over one index's collections share (:meth:`RagSystem.over`): the
    index's settings, the one embedder (the first collection opened chooses its backend), each
    collection's system, made once, and the answerers."""

    def __init__(self, config: Config, embedder: Embedder | None, create: bool,
                 read_only: bool) -> None:
        self.config = config
        self.given = embedder
        self.embedder: Embedder | None = None
        self.backend = ""
        self.create, self.read_only = create, read_only
        self.views: dict[tuple[str, ...], RagSystem] = {}
        self.answerers: dict[str, Answerer] = {}
        self.sample_checked = False
        self.lock = threading.RLock()

    def model(self) -> Embedder:
        assert self.embedder is not None, "no collection opened yet"
        return self.embedder

    def view(self, names: tuple[str, ...]) -> RagSystem:
        """The system over collections ``names`` (checked), made on first use."""
        with self.lock:
            system = self.views.get(names)
            if system is None:
                system = RagSystem.__new__(RagSystem)
                system._open(self, names)
            return system

    def forget(self, name: str) -> None:
        """Drop the systems over collection ``name`` (closing its index): it is deleted."""
        with self.lock:
            for names in [n for n in self.views if name in n]:
                view = self.views.pop(names)
                if len(names) == 1 and view._index is not None:
                    view._index.close()

    def reconfigure(self, config: Config) -> None:
        """Take ``config``'s settings (its ``collections`` aside) for every system, if they
        changed: answerers are made again, retrievers read the new settings."""
        with self.lock:
            if config.replace(collections=self.config.collections) == self.config:
                return
            self.config = config
            self.answerers.clear()
            for names, view in self.views.items():
                view.config = (collection_config(config, names[0]) if len(names) == 1
                               else config.replace(collections=names))
                view.retriever.config = view.config
                view._chains.clear()


_systems: dict[tuple[str, str, str, str, bool], RagSystem] = {}
_systems_lock = threading.Lock()


def get_system(config: Config | None = None, *, create: bool = True,
               read_only: bool = False) -> RagSystem:
    """The process-wide RagSystem for ``config`` (default: ``Config.from_env()``), over its
    ``collections``; every system of one index shares one model (:meth:`RagSystem.over`).

    The default index's default collection, when empty, is filled with the sample corpus on
    first use (so it is never ``read_only``); another index must already exist unless
    ``create`` (``IndexNotFoundError`` names its path), and a named collection always must.
    """
    config = config or Config.from_env()
    default_index = is_default_index(config)
    create = create or default_index
    read_only = read_only and not default_index
    key = (str(Path(config.index_dir).resolve()), config.embedding_model,
           config.embedding_backend, config.index_backend, read_only)
    with _systems_lock:
        system = _systems.get(key)
        if system is None:
            system = _systems[key] = RagSystem(config, create=create, read_only=read_only)
        else:
            system._shared.reconfigure(config)
        system = system.over(config.collections)
        shared = system._shared
        if (default_index and DEFAULT_COLLECTION in system.collections
                and not shared.sample_checked):
            shared.sample_checked = True
            default = system.over(DEFAULT_COLLECTION)
            if default.is_empty() and SAMPLE_CORPUS.is_dir():
                default.ingest_paths([SAMPLE_CORPUS])
    return system


def is_default_index(config: Config) -> bool:
    """Whether ``config`` names the default index (``$RAG_INDEX_DIR`` or ``./.rag-index``),
    which :func:`get_system` creates and fills with the sample corpus on first use.

    >>> is_default_index(Config.from_env()), is_default_index(Config(index_dir="elsewhere"))
    (True, False)
    """
    return Path(config.index_dir) == Config.from_env().index_dir
