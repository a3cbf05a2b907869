"""Collections (rag/collections.py, RagSystem.over): names checked, each collection an index of
its own, one never answering from another's articles, several asked as one ranking, a delete
removing one whole and nothing else, an index from before collections opened as `default`.
The fake embedder stands for the model; the real one asks two collections in
tests/rag_cli/test_collections.py and over the HTTP API in tests/serve/test_collections.py."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from rag import Config, RagSystem
from rag.articles import Article
from rag.collections import (
    DEFAULT,
    Collections,
    check_name,
    check_names,
    collection_config,
    locate,
)
from rag.errors import (
    BadInputError,
    CollectionExistsError,
    CollectionNotFoundError,
    ConfigError,
)
from rag.feeds import FeedStore, index_feed_store, state_path
from rag.index.base import SearchFilters
from rag.index.store import DSN_ENV

DESK = [  # the second collection's articles: words the sample corpus never uses
    Article(title="Harbour crane collapses at Port Kessel", published_at="2025-03-03",
            source="kessel.example", text="A harbour crane collapsed at Port Kessel on Monday. "
            "Dockworkers said the crane had been inspected in January. The port authority "
            "closed berth seven while engineers examine the crane's foundations."),
    Article(title="Orchard growers report record cherry harvest", published_at="2025-03-04",
            source="valley.example", text="Orchard growers in the Delling valley reported a "
            "record cherry harvest. Cooperative managers credited a mild spring and new "
            "irrigation. Cherry prices fell by a fifth at the valley market."),
    Article(title="Tramline extension opens in Velmora", published_at="2025-03-05",
            source="velmora.example", text="The tramline extension in Velmora opened to "
            "passengers on Wednesday. The new line adds nine stops between the station and the "
            "university. Trams will run every six minutes at peak hours."),
]
DESK_QUESTIONS = ["Why did the harbour crane collapse at Port Kessel?",
                  "How big was the cherry harvest in the Delling valley?",
                  "When did the Velmora tramline extension open?"]
SAMPLE_QUESTIONS = ["Where is the nuclear plant being built?",
                    "What was the final score of the water polo match?",
                    "What did the central bank do for merchants?"]


@pytest.fixture
def newsroom(fake_sample_index_dir, tmp_path, fake_embedder) -> RagSystem:
    """The sample corpus as the default collection (an index made before collections, copied)
    and DESK in the collection `desk`."""
    root = tmp_path / "index"
    shutil.copytree(fake_sample_index_dir, root)
    system = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    system.create_collection("desk").ingest(DESK)
    return system


def ids(system: RagSystem) -> set[str]:
    return {a.id for a, _ in system.index.list_articles()}


def files(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (relative path: sha1 of its bytes), but SQLite's WAL files,
    which any connection makes."""
    return {p.relative_to(folder).as_posix(): hashlib.sha1(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and not p.name.endswith(("-wal", "-shm"))}


# --- names ----------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", ["", "Sports", "desk europe", "-desk", ".trash-desk", "a/b",
                                 "x" * 41, "déjà"])
def test_a_bad_name_is_refused_naming_it(bad):
    with pytest.raises(BadInputError, match=rf"^{bad[:60]!r} is not a collection name: use 1 to "
                                            r"40 lowercase letters, digits, - or _"):
        check_name(bad)


def test_names_are_one_or_a_list_each_once():
    assert check_names("desk") == ("desk",)
    assert check_names(["desk", "default", "desk"]) == ("desk", "default")
    for bad in ([], None, 3, [3]):
        with pytest.raises(BadInputError):
            check_names(bad)


def test_the_setting_takes_names_and_refuses_bad_ones():
    assert Config().collections == ("default",)
    assert Config(collections="desk").collections == ("desk",)
    assert Config(collections=["desk", "default"]).collections == ("desk", "default")
    assert Config.from_env({"RAG_COLLECTIONS": "desk, default"}).collections == ("desk",
                                                                                 "default")
    for bad in ((), ("desk", "desk"), ("Desk",)):
        with pytest.raises(ConfigError, match=r"^collections must be one or more distinct "):
            Config(collections=bad)


# --- where a collection lives -----------------------------------------------------------------
def test_a_named_collection_is_a_folder_under_the_index_and_its_feeds_follow_it(tmp_path):
    faiss = Config(index_dir=tmp_path / "news")
    assert locate(faiss, DEFAULT).index_dir == tmp_path / "news"
    assert locate(faiss, "desk").index_dir == tmp_path / "news" / "collections" / "desk"
    own = collection_config(faiss, "desk")
    assert state_path(own.index_backend, own.index_dir, own.feeds_dir) == (
        tmp_path / "news" / "collections" / "desk" / "feeds.sqlite")
    apart = collection_config(faiss.replace(feeds_dir=str(tmp_path / "feeds")), "desk")
    assert Path(apart.feeds_dir) == tmp_path / "feeds" / "collections" / "desk"
    pg = collection_config(Config(index_dir="news", index_backend="pgvector"), "desk")
    assert pg.index_dir.as_posix() == "news/collections/desk"
    assert Path(pg.feeds_dir) == state_path("pgvector", "news").parent / "collections" / "desk"


@pytest.mark.parametrize("settings", [{}, {"feeds_dir": "/srv/feeds"},
                                      {"index_backend": "pgvector"}])
def test_the_default_collections_feeds_are_where_the_feeds_module_keeps_them(settings):
    """rag.collections cannot import rag.feeds (an import cycle through rag.system): it
    computes the default collection's feed folder itself, as state_path does."""
    config = Config(index_dir="news", **settings)
    assert locate(config, DEFAULT).feeds_dir / "feeds.sqlite" == state_path(
        config.index_backend, config.index_dir, config.feeds_dir)


# --- an index from before collections -----------------------------------------------------------
def test_an_index_made_before_collections_opens_as_the_default_collection(
        fake_sample_index_dir, tmp_path, fake_embedder):
    root = tmp_path / "index"
    shutil.copytree(fake_sample_index_dir, root)
    before = files(root)
    assert not (root / "collections").exists()
    system = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    assert system.collections == ("default",) and system.collection == "default"
    assert system.collection_names() == ["default"]
    assert system.stats().articles == 7 and system.index.verify() == []
    hit = system.search("nuclear plant Bushehr", 1)[0]
    assert hit.collection == "default" and "Bushehr" in hit.chunk.text
    assert files(root) == before  # opened and searched: not a byte written


def test_collections_beside_it_change_nothing_of_the_default_collection(
        fake_sample_index_dir, tmp_path, fake_embedder):
    """The default collection alone answers exactly as before other collections existed, and
    its folder is byte for byte what it was (collections/ aside)."""
    root = tmp_path / "index"
    shutil.copytree(fake_sample_index_dir, root)
    plain = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    plain.search("warm up", 1)  # the BM25 build is made and saved now, not in the comparison
    before_files = files(root)

    def answers(system: RagSystem) -> list[dict]:
        out = []
        for question in SAMPLE_QUESTIONS + DESK_QUESTIONS:
            data = system.ask(question).to_json()
            data.pop("timings_ms")
            out.append(data)
        return out

    before = answers(plain)
    plain.create_collection("desk").ingest(DESK)
    again = RagSystem(Config(index_dir=root, collections=("default",)),
                      embedder=fake_embedder)
    assert answers(plain) == before
    assert answers(again) == before
    assert answers(plain.over("default")) == before
    assert {k: v for k, v in files(root).items()
            if not k.startswith("collections/")} == before_files


# --- apart ----------------------------------------------------------------------------------
def test_asking_one_collection_never_returns_anothers_passages(newsroom):
    desk = newsroom.over("desk")
    default = newsroom.over("default")
    desk_ids, default_ids = ids(desk), ids(default)
    assert len(desk_ids) == 3 and len(default_ids) == 7 and not desk_ids & default_ids
    for system, own, other_questions in ((desk, desk_ids, SAMPLE_QUESTIONS),
                                         (default, default_ids, DESK_QUESTIONS)):
        for question in SAMPLE_QUESTIONS + DESK_QUESTIONS:
            hits = system.search(question, 10)
            assert hits and {h.article.id for h in hits} <= own
            assert {h.collection for h in hits} == {system.collection}
            answer = system.ask(question)
            assert {c.article_id for c in answer.citations} <= own
            assert {p.article_id for p in answer.passages} <= own
        # Naming the other collection's articles in a filter finds nothing, not them.
        others = tuple((desk_ids | default_ids) - own)
        assert system.search(other_questions[0], 10, SearchFilters(article_ids=others)) == []


def test_timelines_and_briefings_read_only_their_collection(newsroom):
    desk = newsroom.over("desk")
    brief = desk.brief("7d", as_of="2025-03-06")
    assert brief.citations and {c.article_id for c in brief.citations} <= ids(desk)
    assert {c.collection for c in brief.citations} == {"desk"}
    timeline = desk.timeline("harbour crane Port Kessel", as_of="2025-03-06")
    assert {c.article_id for c in timeline.citations} <= ids(desk)


def test_asking_several_collections_merges_them_into_one_ranking(newsroom):
    both = newsroom.over(["default", "desk"])
    assert both.collections == ("default", "desk")
    crane = both.search(DESK_QUESTIONS[0], 6)
    assert crane[0].collection == "desk" and "crane" in crane[0].chunk.text
    bushehr = both.search(SAMPLE_QUESTIONS[0], 6)
    assert bushehr[0].collection == "default" and "Bushehr" in bushehr[0].chunk.text
    mixed = both.search("crane collapsed nuclear plant Bushehr", 8)
    assert {h.collection for h in mixed} == {"default", "desk"}
    answer = both.ask(DESK_QUESTIONS[0])
    assert answer.citations and answer.citations[0].collection == "desk"
    data = answer.to_json()
    assert data["citations"][0]["collection"] == "desk"
    assert {p["collection"] for p in data["passages"]} <= {"default", "desk"}
    # The same hits, merged: each collection's best is where its score puts it.
    desk_best = newsroom.over("desk").search(DESK_QUESTIONS[0], 1)[0]
    assert (crane[0].article.id, crane[0].chunk.ordinal) == (desk_best.article.id,
                                                              desk_best.chunk.ordinal)
    assert both.stats().articles == 10
    newsroom.ingest([Article(title="Pilots strike at Brenn airport", published_at="2025-03-04",
                             text="Pilots went on strike at Brenn airport on Tuesday. Flights "
                                  "were cancelled until Thursday.")])
    brief = both.brief("7d", as_of="2025-03-06")  # the window's articles of both, by date
    assert {c.collection for c in brief.citations} == {"default", "desk"}


def test_a_write_goes_to_exactly_one_collection(newsroom, tmp_path):
    both = newsroom.over(["default", "desk"])
    extra = Article(title="Ferry timetable changes", text="The ferry timetable changes in May.")
    for write in (lambda: both.ingest([extra]), lambda: both.delete([DESK[0].id]),
                  lambda: both.ingest_paths([tmp_path])):
        with pytest.raises(BadInputError, match=r"^a write goes to one collection, and this one "
                                                r"reads 2 \(default, desk\): choose one"):
            write()
    with pytest.raises(BadInputError, match="choose one"):
        both.index  # noqa: B018
    assert newsroom.over("desk").stats().articles == 3 and newsroom.stats().articles == 7
    assert newsroom.over("desk").delete([DESK[0].id, "absent"]) == 1
    assert newsroom.stats().articles == 7  # the default collection lost nothing


def test_one_model_is_shared_by_every_collection(newsroom, fake_embedder):
    both = newsroom.over(["desk", "default"])
    assert both.embedder is newsroom.embedder is fake_embedder
    assert newsroom.over("desk") is newsroom.over(["desk"])  # made once
    assert both.retriever.parts[0] is newsroom.over("desk").retriever


def test_a_named_collection_must_exist(newsroom, tmp_path, fake_embedder):
    with pytest.raises(CollectionNotFoundError, match=r"^no collection 'sports': `rag "
                                                      r"collections list` shows them"):
        newsroom.over(["default", "sports"])
    with pytest.raises(CollectionNotFoundError, match="'sports'"):
        RagSystem(Config(index_dir=newsroom.config.index_dir, collections=("sports",)),
                  embedder=fake_embedder)
    with pytest.raises(CollectionExistsError, match="the collection 'desk' already exists"):
        newsroom.create_collection("desk")
    with pytest.raises(CollectionExistsError):
        newsroom.create_collection("default")


# --- deleting ---------------------------------------------------------------------------------
def test_deleting_a_collection_removes_it_whole_and_nothing_else(newsroom, fake_embedder):
    root = Path(newsroom.config.index_dir)
    desk = newsroom.over("desk")
    for system in (newsroom, desk):  # each with its BM25 build saved and a followed feed
        system.search("harbour crane", 3)
        index_feed_store(system.config).add(f"https://{system.collection}.example/rss",
                                            every_s=1800)
    desk_folder = root / "collections" / "desk"
    assert (desk_folder / "feeds.sqlite").is_file() and (desk_folder / "bm25-builds.json").is_file()
    kept = {k: v for k, v in files(root).items() if not k.startswith("collections/")}
    listed = newsroom.index.list_articles()

    newsroom.delete_collection("desk")

    assert not desk_folder.exists() and os.listdir(root / "collections") == []
    assert newsroom.collection_names() == ["default"]
    with pytest.raises(CollectionNotFoundError):
        newsroom.over("desk")
    assert {k: v for k, v in files(root).items()} == kept  # articles, vectors, BM25, feeds
    reopened = RagSystem(Config(index_dir=root), embedder=fake_embedder)
    assert reopened.index.list_articles() == listed and reopened.index.verify() == []
    assert "Bushehr" in reopened.search(SAMPLE_QUESTIONS[0], 1)[0].chunk.text
    assert [f.url for f in index_feed_store(reopened.config).feeds()] == [
        "https://default.example/rss"]
    # A new collection of the same name starts empty, without the old one's feeds.
    fresh = newsroom.create_collection("desk")
    assert fresh.stats().articles == 0 and index_feed_store(fresh.config).feeds() == []


def test_a_collections_feeds_kept_apart_go_with_it(tmp_path, fake_embedder):
    config = Config(index_dir=tmp_path / "index", feeds_dir=str(tmp_path / "feeds"))
    system = RagSystem(config, embedder=fake_embedder)
    desk = system.create_collection("desk")
    FeedStore(Path(desk.config.feeds_dir) / "feeds.sqlite").add("https://x.example/rss",
                                                                every_s=1800)
    index_feed_store(system.config).add("https://default.example/rss", every_s=1800)
    system.delete_collection("desk")
    assert not (tmp_path / "feeds" / "collections" / "desk").exists()
    assert [f.url for f in index_feed_store(system.config).feeds()] == [
        "https://default.example/rss"]


def test_the_default_collection_cannot_be_deleted(newsroom):
    called: list[str] = []
    with pytest.raises(BadInputError, match=r"^the default collection cannot be deleted"):
        newsroom.delete_collection("default", before=called.append)
    with pytest.raises(CollectionNotFoundError, match="'sports'"):
        newsroom.delete_collection("sports", before=called.append)
    assert newsroom.stats().articles == 7
    assert called == []  # refused before the hook (a server's feed sync keeps running)


def test_the_hook_runs_once_before_the_collection_goes(newsroom):
    newsroom.create_collection("scratch")
    seen: list[tuple[str, bool]] = []
    newsroom.delete_collection("scratch", before=lambda name: seen.append(
        (name, name in newsroom.collection_names())))
    assert seen == [("scratch", True)] and "scratch" not in newsroom.collection_names()


def test_what_a_crash_leaves_never_lists_as_a_collection(newsroom):
    folder = Path(newsroom.config.index_dir) / "collections"
    shutil.copytree(folder / "desk", folder / ".trash-old-1234")  # a delete cut short
    (folder / ".new-half-5678").mkdir()  # a create cut short
    (folder / "empty").mkdir()  # a folder without a store
    assert Collections(newsroom.config).names() == ["default", "desk"]
    newsroom.create_collection("third")
    assert not (folder / ".trash-old-1234").exists()  # swept by the next create
    assert newsroom.collection_names() == ["default", "desk", "third"]


# --- pgvector ---------------------------------------------------------------------------------
@pytest.mark.pgvector
@pytest.mark.skipif(not os.environ.get(DSN_ENV) and not os.environ.get("CI"),
                    reason=f"{DSN_ENV} is not set: no PostgreSQL server "
                           "(`source .ci/start.d/30-postgres.sh`)")
def test_pgvector_collections_are_schemas_of_their_own(tmp_path, fake_embedder, monkeypatch):
    import uuid

    from rag.index.store import postgres_index_names, schema_for

    monkeypatch.setenv("HOME", str(tmp_path))  # the feed state of pgvector indexes
    root = f"test_coll_{uuid.uuid4().hex[:8]}"
    config = Config(index_dir=root, index_backend="pgvector")
    system = RagSystem(config, embedder=fake_embedder)
    try:
        system.ingest(DESK[:1])
        desk = system.create_collection("desk")
        desk.ingest(DESK[1:])
        assert system.collection_names() == ["default", "desk"]
        assert postgres_index_names(prefix=f"{root}/") == [f"{root}/collections/desk"]
        assert desk.index.store.schema == schema_for(f"{root}/collections/desk")
        assert {h.collection for h in desk.search(DESK_QUESTIONS[0], 5)} == {"desk"}
        assert ids(system) == {DESK[0].id} and ids(desk) == {DESK[1].id, DESK[2].id}
        both = system.over(["default", "desk"])
        assert {h.collection for h in both.search("crane cherry tramline", 6)} == {
            "default", "desk"}
        # The desk's feeds are tables of its schema (rag.feeds.pg_state), no file anywhere.
        index_feed_store(desk.config).add("https://desk.example/rss", every_s=1800)
        assert [f.url for f in index_feed_store(desk.config).feeds()] == [
            "https://desk.example/rss"]
        assert index_feed_store(system.config).feeds() == []
        assert not Path(desk.config.feeds_dir).exists()
        system.delete_collection("desk")
        assert system.collection_names() == ["default"]
        assert postgres_index_names(prefix=f"{root}/") == []
        assert index_feed_store(desk.config).feeds() == []  # gone with its schema
        assert ids(system) == {DESK[0].id} and system.index.verify() == []
    finally:
        system.index.store.drop()
        system.index.close()
