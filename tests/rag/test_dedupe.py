"""Near-duplicate articles: MinHash groups at ingest, collapsed in results with every source."""

from __future__ import annotations

import pytest

from rag.articles import Article
from rag.chunking import Chunk
from rag.dedupe import LONG_TEXT_CHARS, duplicate_groups, same_story, signature
from rag.index.base import Hit
from rag.retrieval.dedupe import collapse_duplicates

WIRE = ("WASHINGTON (AP) The Senate passed a bipartisan bill on Thursday to expand health care "
        "for veterans exposed to toxic burn pits, sending the measure to the president after "
        "weeks of negotiations. Supporters said the bill would help millions of former service "
        "members who developed cancers and breathing problems after serving near open-air pits "
        "used to burn waste in Iraq and Afghanistan. The vote was 86 to 11, with opponents "
        "citing the cost of the spending over the next decade and the way it was accounted for.")
OTHER = ("The city zoo welcomed a baby giraffe over the weekend, the first birth of its kind "
         "there in twelve years. Keepers said the calf stood within an hour and was nursing "
         "well, and visitors will be able to see mother and calf in the savanna yard from next "
         "month once vets have checked them. The zoo plans a naming contest for local schools "
         "and will announce the winning name in the spring after the votes are counted.")


def test_signature_needs_enough_words():
    assert signature("Too short to compare.") is None
    assert signature(WIRE) is not None


def test_wire_copies_group_and_different_stories_do_not():
    copy = WIRE.replace("WASHINGTON (AP) ", "") + " Copyright 2022 The Associated Press."
    sigs = {"b": signature(WIRE), "a": signature(copy), "z": signature(OTHER)}
    groups = duplicate_groups(sigs, threshold=0.7)
    assert groups == {"a": "a", "b": "a"}
    assert duplicate_groups(sigs, threshold=1.0) == {}


def test_short_equal_texts_need_similar_titles():
    sigs = {"a": signature(OTHER), "b": signature(OTHER), "c": signature(OTHER)}
    titles = {"a": "Baby giraffe born at zoo", "b": "Zoo welcomes baby giraffe",
              "c": "Stock markets fall"}
    groups = duplicate_groups(sigs, 0.8, lambda x, y: same_story(titles[x], titles[y],
                                                                  len(OTHER)))
    assert groups == {"a": "a", "b": "a"}
    assert same_story("Stock markets fall", "Baby giraffe", LONG_TEXT_CHARS)


def _hit(article: Article, score: float) -> Hit:
    return Hit(Chunk(article.id, 0, 0, 10, article.text[:10], article.title), article, score)


def test_collapse_keeps_the_best_ranked_copy_and_lists_the_others():
    a = Article(title="Burn pits", text=WIRE, id="a", source="apnews.com")
    b = Article(title="Burn pits bill", text=WIRE, id="b", source="local.example")
    c = Article(title="Burn pits (copy)", text=WIRE, id="c", source="third.example")
    z = Article(title="Giraffe", text=OTHER, id="z")
    articles = {x.id: x for x in (a, b, c, z)}
    groups = {"a": "a", "b": "a", "c": "a"}
    hits = [_hit(b, 0.9), _hit(z, 0.8), _hit(a, 0.7)]
    out = collapse_duplicates(hits, groups, articles.get)
    assert [h.article.id for h in out] == ["b", "z"]
    assert [d.source for d in out[0].duplicates] == ["apnews.com", "third.example"]
    assert out[1].duplicates == ()
    assert collapse_duplicates(hits, {}, articles.get) == hits


def wire_copies() -> list[Article]:
    """One wire story as two outlets ran it: near-duplicates at the default threshold."""
    return [Article(title="Senate passes burn pits bill", text=WIRE, source="apnews.com"),
            Article(title="Senate passes burn pits bill for veterans",
                    text=WIRE + " Local reaction follows.", source="local.example")]


@pytest.mark.slow
def test_syndicated_copies_are_detected_at_ingest_and_collapsed(writable_sample_system):
    system = writable_sample_system
    system.ingest([*wire_copies(), Article(title="Baby giraffe", text=OTHER,
                                           source="zoo.example")])
    groups = system.retriever.lexical.groups()
    assert len(groups) == 2 and len(set(groups.values())) == 1
    hits = system.retriever.retrieve("What did the Senate pass for veterans exposed to burn pits?",
                                     5)
    burn = [h for h in hits if "burn pits" in h.chunk.text]
    assert len({h.article.id for h in burn}) == 1
    sources = {burn[0].article.source} | {d.source for d in burn[0].duplicates}
    assert sources == {"apnews.com", "local.example"}
    answer = system.ask("What did the Senate pass for veterans exposed to burn pits?")
    cited = answer.citations[0]
    assert {cited.source} | {r.source for r in cited.also_in} == {"apnews.com", "local.example"}
    assert answer.to_json()["citations"][0]["also_in"][0]["source"] in sources


def test_a_changed_dedupe_threshold_regroups_on_reopen(writable_fake_sample_system):
    """The duplicate groups are keyed by the threshold, not only by the index's generation."""
    from rag.system import RagSystem

    system = writable_fake_sample_system
    system.ingest(wire_copies())
    assert len(system.retriever.lexical.groups()) == 2
    strict = RagSystem(system.config.replace(dedupe_threshold=1.0), embedder=system.embedder)
    assert strict.retriever.lexical.groups() == {}  # no write in between, still regrouped
    again = RagSystem(system.config, embedder=system.embedder)
    assert len(again.retriever.lexical.groups()) == 2
    assert again.retriever.lexical.last_build_seconds == 0.0  # the 0.8 build was kept, loaded
    # One process, its config changed: the retriever follows too.
    again.retriever.config = again.config.replace(dedupe_threshold=1.0)
    assert again.retriever.lexical.groups() == {}
