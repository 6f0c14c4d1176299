"""Seeded people (fakebook.people)."""

from __future__ import annotations

from fakebook.people import seed_people


def test_ids_are_distinct_and_numeric() -> None:
    people = seed_people()
    assert 3 <= len(people) <= 4
    ids = [p.psid for p in people] + [p.asid for p in people]
    assert len(set(ids)) == len(ids)
    assert all(i.isdigit() for i in ids)


def test_likes_are_plausible_and_stable() -> None:
    people = seed_people()
    counts = sorted(len(p.likes) for p in people)
    assert counts[0] == 3
    assert all(30 <= c <= 60 for c in counts[1:])
    for person in people:
        times = [page.created_time for page in person.likes]
        assert times == sorted(times, reverse=True)
        assert all(t.endswith("+0000") for t in times)
        assert len({page.id for page in person.likes}) == len(person.likes)
    assert seed_people() == people


def test_names_and_email() -> None:
    zoe = seed_people()[3]
    assert zoe.name == "Zoë Åkesson"
    assert zoe.email == "zoe.akesson@example.com"
    assert zoe.summary()["likes_count"] == 3
