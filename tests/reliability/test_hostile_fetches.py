"""Hostile links through a real `rag ingest` (issue 24): decompression bombs, headers or a body
trickled past the deadline and malformed URLs each fail by name, in little memory and time,
while the good pages beside them go in."""

from __future__ import annotations

from pathlib import Path

import probes


def test_hostile_links_each_fail_by_name_and_the_good_ones_go_in(tmp_path: Path) -> None:
    probe = probes.hostile_fetches(tmp_path)
    assert probe.crashes == []
    print(f"peak {probe.measured['peak_mb']:.1f} MB above baseline; trickled headers cut after "
          f"{probe.slow_header_s:.2f} s (deadline {probes.FETCH_TIMEOUT_S:g} s)")
    assert probe.unnamed == {}
    assert probe.lost == []
    assert [url for url, f in probe.fetches.items() if not f["error"]] == []
    assert probe.measured["peak_mb"] < 100  # the bombs' 512 MB each never built
    assert probe.slow_header_s < probes.FETCH_TIMEOUT_S + 5
    assert probes.stats_problems(probe.index) == []
    assert probes.index_problems(probe.index) == []
