""""Fetch links" on the real page (``python app.py``, driven with gradio_client) against a
local feed server: a slow link holds up no delete, and a malformed link is a named failure
while the rest of the batch goes in."""

from __future__ import annotations

import time

import pytest
from feedsite import MALFORMED_LINKS, FeedSite
from support import fetching_app

pytestmark = pytest.mark.slow

SLOW_S = 10


@pytest.fixture(scope="module")
def site():
    site = FeedSite(slow_s=SLOW_S)
    yield site
    site.close()


@pytest.fixture(scope="module")
def app_url(sample_index_dir, tmp_path_factory):
    with fetching_app(sample_index_dir, tmp_path_factory.mktemp("fetch-app"), SLOW_S + 10) as url:
        yield url


def test_a_slow_link_holds_up_no_delete_and_a_malformed_one_fails_alone(app_url, site):
    from gradio_client import Client

    slow = site.url("/news/slow.html")
    fetching = Client(app_url, verbose=False).submit("\n".join([slow, *MALFORMED_LINKS]),
                                                     api_name="/ingest_links")
    deadline = time.monotonic() + 60
    while site.hits["/news/slow.html"] == 0:
        assert time.monotonic() < deadline, "the page never fetched the link"
        time.sleep(0.05)
    started = time.monotonic()
    said = Client(app_url, verbose=False).predict("no-such-article", api_name="/delete")[0]
    took = time.monotonic() - started
    assert said == "Deleted 0 of 1 article(s)."
    assert not fetching.done(), f"the delete waited {took:.1f} s for the slow link"

    status, _, table, _ = fetching.result(timeout=120)
    assert status.startswith("**added 1,"), status
    for link in MALFORMED_LINKS:
        assert link in status and "not a valid URL" in status
    assert "Slow" in [row[0] for row in table["data"]]
