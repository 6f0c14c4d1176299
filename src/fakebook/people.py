"""The seeded fake people and the pages they like.

Each person has a page-scoped id (PSID, what Messenger and the Send API use) and a different
app-scoped id (ASID, what Facebook Login yields), as on the real platform (contract §8).
Likes are generated deterministically so paging tests see the same data on every run.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta


@dataclass(frozen=True)
class LikedPage:
    id: str
    name: str
    created_time: str  # Facebook's format: 2019-01-01T00:00:00+0000


@dataclass(frozen=True)
class Person:
    psid: str
    asid: str
    first_name: str
    last_name: str
    likes: tuple[LikedPage, ...]
    # Fields that need a permission (gender, birthday) or an approved feature (locale,
    # timezone on the User Profile API); fakebook people all have them.
    gender: str = "female"
    birthday: str = "01/01/1990"  # Facebook's MM/DD/YYYY
    locale: str = "en_US"
    timezone: float = 2

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def email(self) -> str:
        local = unicodedata.normalize("NFKD", f"{self.first_name}.{self.last_name}".lower())
        return "".join(ch for ch in local if ch.isascii()) + "@example.com"

    def summary(self) -> dict[str, object]:
        return {
            "psid": self.psid,
            "asid": self.asid,
            "name": self.name,
            "first_name": self.first_name,
            "last_name": self.last_name,
            "likes_count": len(self.likes),
        }


_PLACES = (
    "Helsinki",
    "Lakeside",
    "Old Town",
    "Riverside",
    "Northern",
    "Harbour",
    "Sunset",
    "Maple",
    "Granite",
    "Aurora",
    "Meadow",
    "Cobalt",
    "Juniper",
)
_THINGS = (
    "Jazz",
    "Bakery",
    "Chess",
    "Cycling",
    "Film",
    "Robotics",
    "Poetry",
    "Coffee",
    "Hiking",
    "Vinyl",
    "Astronomy",
    "Pottery",
    "Sailing",
    "Tea",
    "Theatre",
    "Running",
    "Comics",
)
_KINDS = (
    "Club",
    "Collective",
    "Society",
    "Fans",
    "Workshop",
    "Weekly",
    "Festival",
    "Lovers",
    "Community",
    "Guild",
    "Co.",
)
_EPOCH = datetime(2025, 12, 30, 12, 0, tzinfo=UTC)


def _likes(person_no: int, count: int) -> tuple[LikedPage, ...]:
    """Newest first, as Facebook lists likes; names mix the word lists by index arithmetic."""
    pages = []
    for i in range(count):
        k = person_no * 31 + i
        name = (
            f"{_PLACES[(k * 7) % len(_PLACES)]} {_THINGS[(k * 5 + person_no) % len(_THINGS)]} "
            f"{_KINDS[(k * 3) % len(_KINDS)]}"
        )
        when = _EPOCH - timedelta(days=i * 9 + person_no, hours=(k * 5) % 24, minutes=k % 60)
        pages.append(
            LikedPage(
                id=str(300000000000000 + k * 7919),
                name=name,
                created_time=when.strftime("%Y-%m-%dT%H:%M:%S+0000"),
            )
        )
    return tuple(pages)


def seed_people() -> tuple[Person, ...]:
    return (
        Person("5810000000000001", "10220000000000101", "Alice", "Example", _likes(1, 42)),
        Person(
            "5810000000000002",
            "10220000000000202",
            "Bob",
            "Sample",
            _likes(2, 57),
            gender="male",
            birthday="07/14/1985",
            locale="en_GB",
            timezone=0,
        ),
        Person(
            "5810000000000003",
            "10220000000000303",
            "Carol",
            "Demo",
            _likes(3, 31),
            birthday="11/30/1979",
            locale="fr_FR",
            timezone=1,
        ),
        # A non-ASCII name keeps escaped-unicode handling honest; few likes: a one-page list.
        Person(
            "5810000000000004",
            "10220000000000404",
            "Zoë",
            "Åkesson",
            _likes(4, 3),
            birthday="03/03/2001",
            locale="sv_SE",
            timezone=1,
        ),
    )
