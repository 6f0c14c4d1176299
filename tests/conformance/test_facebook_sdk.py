"""facebook-sdk (the `facebook` module, 3.1.0) against fakebook.

Client limits worked around here, none of them bent into fakebook:
* the Graph host is a module constant (`facebook.FACEBOOK_GRAPH_URL`), so the test points it at
  fakebook; the client offers no other way;
* it knows versions up to 3.1 only and defaults to 2.8, all long expired: fakebook, like
  Facebook, serves them at the oldest available version, which is the point of one scenario;
* it never sends `appsecret_proof`, and fakebook (like an app with "Require App Secret" on)
  wants one with user tokens, so the tests pass it as an ordinary argument.
"""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import facebook
import pytest

from tests.conformance.conftest import (
    ALICE_ASID,
    APP_ID,
    APP_SECRET,
    REDIRECT_URI,
    Live,
    proof,
)


@pytest.fixture(autouse=True)
def graph_host(fakebook: Live) -> Iterator[None]:
    saved = facebook.FACEBOOK_GRAPH_URL, facebook.FACEBOOK_WWW_URL
    facebook.FACEBOOK_GRAPH_URL = facebook.FACEBOOK_WWW_URL = fakebook.url + "/"
    yield
    facebook.FACEBOOK_GRAPH_URL, facebook.FACEBOOK_WWW_URL = saved


def test_login_url_code_exchange_and_extension(fakebook: Live) -> None:
    graph = facebook.GraphAPI(version="3.1")
    url = graph.get_auth_url(APP_ID, REDIRECT_URI, perms=["user_likes"], state="s1")
    location = fakebook.consent(url)
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["s1"]
    answer = graph.get_access_token_from_code(query["code"][0], REDIRECT_URI, APP_ID, APP_SECRET)
    assert answer["token_type"] == "bearer"
    short = answer["access_token"]
    # extend_access_token sends the short token as access_token beside client_secret, and no
    # proof: the app secret itself meets "Require App Secret".
    extended = facebook.GraphAPI(access_token=short, version="3.1").extend_access_token(
        APP_ID, APP_SECRET
    )
    assert extended["expires_in"] > 5_000_000
    assert extended["access_token"] != short


def test_get_object_with_standard_fields_at_the_default_version(fakebook: Live) -> None:
    token = fakebook.user_token()
    graph = facebook.GraphAPI(access_token=token)  # defaults to v2.8
    me = graph.get_object("me", fields="name,first_name,picture", appsecret_proof=proof(token))
    assert me["id"] == ALICE_ASID
    assert me["name"] == "Alice Example"
    assert me["picture"]["data"]["url"].startswith(fakebook.url)
    assert graph.get_version() == "21.0"  # fakebook's oldest available version


def test_get_all_connections_follows_paging_to_the_end(fakebook: Live) -> None:
    token = fakebook.user_token()
    graph = facebook.GraphAPI(access_token=token, version="3.1")
    likes = list(graph.get_all_connections("me", "likes", limit=10, appsecret_proof=proof(token)))
    assert len(likes) == 42  # Alice's seeded likes, five pages of at most ten
    assert len({like["id"] for like in likes}) == 42
    assert all(like["name"] for like in likes)


def test_debug_access_token_and_app_token(fakebook: Live) -> None:
    token = fakebook.user_token(scope="user_likes,email")
    graph = facebook.GraphAPI(version="3.1")
    data = graph.debug_access_token(token, APP_ID, APP_SECRET)["data"]
    assert data["is_valid"] is True
    assert data["user_id"] == ALICE_ASID
    assert set(data["scopes"]) == {"public_profile", "user_likes", "email"}
    app_token = graph.get_app_access_token(APP_ID, APP_SECRET)
    assert app_token.startswith(f"{APP_ID}|")
    as_app = facebook.GraphAPI(access_token=app_token, version="3.1")
    assert as_app.debug_access_token(token, APP_ID, APP_SECRET)["data"]["app_id"] == APP_ID


def test_errors_reach_the_client_as_graph_api_error(fakebook: Live) -> None:
    graph = facebook.GraphAPI(access_token="EAAnot-a-token", version="3.1")
    with pytest.raises(facebook.GraphAPIError) as caught:
        graph.get_object("me")
    assert caught.value.code == 190
    assert caught.value.type == "OAuthException"
