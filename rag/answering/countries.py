"""Whether a place name is a country ("In which country ...?" is not answered by a city).

Country names come from ISO 3166 (pycountry: short, official and common names), plus the short
English names news writes that ISO does not use ("Russia", "Britain", "Turkey", "the Netherlands").

>>> is_country("Lithuania"), is_country("the Netherlands"), is_country("Klaipėda")
(True, True, False)
"""

from __future__ import annotations

from functools import cache

# News English for countries whose ISO names differ ("Russian Federation", "Türkiye", ...).
_NEWS_NAMES = frozenset({
    "russia", "britain", "great britain", "uk", "u.k.", "england", "scotland", "wales",
    "northern ireland", "us", "u.s.", "usa", "u.s.a.", "america", "united states of america",
    "turkey", "ivory coast", "south korea", "north korea", "korea", "iran", "syria", "laos",
    "vietnam", "moldova", "tanzania", "venezuela", "bolivia", "holland", "netherlands",
    "czech republic", "kosovo", "palestine", "vatican", "vatican city", "taiwan", "brunei",
    "cape verde", "east timor", "swaziland", "macedonia", "burma", "uae", "congo",
    "democratic republic of congo", "democratic republic of the congo", "drc", "micronesia",
})


@cache
def country_names() -> frozenset[str]:
    """Every name of a country, lower-cased."""
    import pycountry

    names = set(_NEWS_NAMES)
    for country in pycountry.countries:
        for attr in ("name", "official_name", "common_name"):
            value = getattr(country, attr, None)
            if value:
                names.add(value.lower())
    return frozenset(names)


def is_country(text: str) -> bool:
    """Whether ``text`` names a country (a leading "the" aside)."""
    name = text.strip().lower()
    name = name.removeprefix("the ")
    return name in country_names()
