"""Following the news: article URLs and RSS/Atom feeds, fetched safely, extracted with
trafilatura and kept in sync (``rag ingest URL``, ``rag feeds ...``, the page's Feeds tab), and
each feed's briefing stored as the sync refreshes it (``briefs``); followed topics (``topics``)
and their briefings, stored and refreshed the same way (``topic_briefs``)."""

from rag.feeds.briefs import FeedBriefings, brief_feed
from rag.feeds.fetch import FetchError, FetchLimits, FetchResult, SafeFetcher, check_url
from rag.feeds.state import (
    Feed,
    FeedCoverage,
    FeedStore,
    feed_articles,
    followed_feed,
    state_path,
)
from rag.feeds.stores import index_feed_store
from rag.feeds.sync import (
    CollectionFeeds,
    FeedService,
    FeedSyncReport,
    format_interval,
    is_url,
    load_urls,
    parse_interval,
)
from rag.feeds.topic_briefs import FollowedTopics, brief_topic
from rag.feeds.topics import FollowedTopic, TopicState

__all__ = ["CollectionFeeds", "Feed", "FeedBriefings", "FeedCoverage", "FeedService", "FeedStore",
           "FeedSyncReport", "FetchError", "FetchLimits", "FetchResult", "FollowedTopic",
           "FollowedTopics", "SafeFetcher", "TopicState", "brief_feed", "brief_topic",
           "check_url", "feed_articles", "followed_feed", "format_interval",
           "index_feed_store", "is_url", "load_urls", "parse_interval", "state_path"]
