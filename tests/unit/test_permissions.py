"""Facebook's documented permission names, and the suggestion for a name that is not one."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from botperms.config import describe_error, is_permission_name
from botperms.permissions import PERMISSIONS, closest_permission, unknown_permission
from tests.unit.test_config import make


def test_the_list_holds_the_permissions_botperms_and_its_example_use() -> None:
    assert {"public_profile", "email", "user_likes", "pages_show_list"} <= PERMISSIONS
    assert all(is_permission_name(name) for name in PERMISSIONS)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("user_emial", "email"),  # the user_ prefix must not pull it towards user_likes
        ("user_email", "email"),
        ("user_like", "user_likes"),
        ("User_Likes", "user_likes"),
        ("likes", "user_likes"),
        ("pages_show_lst", "pages_show_list"),
        ("pages_messenging", "pages_messaging"),
        ("public_profil", "public_profile"),
    ],
)
def test_a_near_miss_suggests_the_documented_name(typed: str, meant: str) -> None:
    assert closest_permission(typed.lower()) == meant
    assert unknown_permission(typed) == (
        f"{typed!r} is not a Facebook permission (did you mean {meant!r}?)"
    )


def test_a_name_close_to_nothing_points_to_the_reference() -> None:
    assert unknown_permission("shopping") == (
        "'shopping' is not a Facebook permission "
        "(see developers.facebook.com/docs/permissions for the list)"
    )


def test_documented_names_pass() -> None:
    assert unknown_permission("user_likes") is None


def test_botperms_scopes_is_checked_with_the_same_suggestion() -> None:
    with pytest.raises(ValidationError) as error:
        make(scopes="user_likes,user_emial")
    assert describe_error(error.value) == (
        "BOTPERMS_SCOPES: 'user_emial' is not a Facebook permission (did you mean 'email'?)"
    )
