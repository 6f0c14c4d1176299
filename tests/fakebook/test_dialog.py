"""The Login dialog (fakebook.dialog)."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import httpx

from fakebook import create_app
from tests.fakebook.fbtesting import (
    ALICE_ASID,
    ALICE_PSID,
    APP_ID,
    BASE,
    BOB_ASID,
    FB,
    REDIRECT_URI,
    make_config,
)


def dialog_params(**overrides: str) -> dict[str, str]:
    params = {
        "client_id": APP_ID,
        "redirect_uri": REDIRECT_URI,
        "response_type": "code",
        "scope": "user_likes,email",
        "state": "s+t/a=te",
    }
    params.update(overrides)
    return params


async def post_form(
    fb: FB, params: dict[str, str], action: str, scopes: list[str], person: str = ALICE_PSID
) -> httpx.Response:
    csrf = await fb.dialog_csrf(params)
    form = {"fb_dtsg": csrf, "person": person, "action": action, "scopes": scopes}
    return await fb.client.post("/v25.0/dialog/oauth", params=params, data=form)


async def test_page_lists_people_and_scopes(fb: FB) -> None:
    page = await fb.client.get("/v25.0/dialog/oauth", params=dialog_params())
    assert page.status_code == 200
    assert "Log in to Test Bot" in page.text
    assert 'name="viewport"' in page.text
    for control in (
        'id="person-5810000000000001"',
        'id="scope-user_likes"',
        'id="scope-email"',
        'id="continue"',
        'id="cancel"',
        'id="scope-public_profile"',
    ):
        assert control in page.text


async def test_unknown_client_id_shows_error_without_redirect(fb: FB) -> None:
    page = await fb.client.get("/v25.0/dialog/oauth", params=dialog_params(client_id="1"))
    assert page.status_code == 400
    assert "location" not in page.headers
    assert "Invalid App ID" in page.text


async def test_redirect_uri_not_whitelisted(fb: FB) -> None:
    for uri in ("https://evil.test/auth/callback", REDIRECT_URI + "/extra", "not a url"):
        page = await fb.client.get("/v25.0/dialog/oauth", params=dialog_params(redirect_uri=uri))
        assert page.status_code == 400
        assert "location" not in page.headers
        assert "URL blocked" in page.text
        assert "redirect URI is not whitelisted" in page.text


async def test_invalid_scope_and_response_type(fb: FB) -> None:
    bad_scope = await fb.client.get("/v25.0/dialog/oauth", params=dialog_params(scope="wizardry"))
    assert "Invalid Scopes: wizardry" in bad_scope.text
    token = await fb.client.get("/v25.0/dialog/oauth", params=dialog_params(response_type="token"))
    assert token.status_code == 400


async def test_continue_with_a_declined_scope(fb: FB) -> None:
    params = dialog_params(redirect_uri=REDIRECT_URI + "?from=bot")
    answer = await post_form(fb, params, "continue", ["user_likes"])
    assert answer.status_code == 302
    location = answer.headers["location"]
    split = urlsplit(location)
    assert location.startswith(REDIRECT_URI + "?from=bot&code=")
    assert split.fragment == "_=_"
    query = parse_qs(split.query)
    assert query["state"] == ["s+t/a=te"]
    assert query["from"] == ["bot"]
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["granted"] == ["public_profile", "user_likes"]
    assert grants["declined"] == ["email"]
    # The code is bound to the redirect_uri as given, query included.
    exchanged = await fb.exchange(query["code"][0], redirect_uri=REDIRECT_URI + "?from=bot")
    assert exchanged.status_code == 200


async def test_declined_scope_stays_declined_unless_rerequest(fb: FB) -> None:
    await post_form(fb, dialog_params(), "continue", ["user_likes"])
    # Checking email again without auth_type=rerequest changes nothing.
    await post_form(fb, dialog_params(), "continue", ["user_likes", "email"])
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["declined"] == ["email"]
    # Unchecking an already granted scope does not revoke it either.
    await post_form(fb, dialog_params(auth_type="rerequest"), "continue", ["email"])
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["granted"] == ["public_profile", "user_likes", "email"]
    assert grants["declined"] == []


async def test_cancel_redirects_with_access_denied(fb: FB) -> None:
    answer = await post_form(fb, dialog_params(), "cancel", ["user_likes"])
    assert answer.status_code == 302
    assert answer.headers["location"] == (
        REDIRECT_URI + "?error=access_denied&error_code=200&error_description=Permissions+error"
        "&error_reason=user_denied&state=s%2Bt%2Fa%3Dte#_=_"
    )
    grants = (await fb.client.get(f"/_fakebook/grants/{ALICE_ASID}")).json()
    assert grants["installed"] is False


async def test_state_left_out_when_not_given(fb: FB) -> None:
    params = dialog_params()
    del params["state"]
    answer = await post_form(fb, params, "continue", [])
    assert "state=" not in answer.headers["location"]


async def test_person_by_asid_and_cookie(fb: FB) -> None:
    answer = await post_form(fb, dialog_params(), "continue", ["user_likes"], person=BOB_ASID)
    assert answer.status_code == 302
    assert (await fb.client.get(f"/_fakebook/grants/{BOB_ASID}")).json()["installed"] is True
    assert answer.cookies.get("fakebook_person") == "5810000000000002"


async def test_csrf_and_person_are_required(fb: FB) -> None:
    params = dialog_params()
    forged = await fb.client.post(
        "/v25.0/dialog/oauth",
        params=params,
        data={"fb_dtsg": "0" * 64, "person": ALICE_PSID, "action": "continue"},
    )
    assert forged.status_code == 403
    csrf = await fb.dialog_csrf(params)
    # The CSRF value is bound to the exact dialog request.
    other = await fb.client.post(
        "/v25.0/dialog/oauth",
        params=dialog_params(scope="email"),
        data={"fb_dtsg": csrf, "person": ALICE_PSID, "action": "continue"},
    )
    assert other.status_code == 403
    nobody = await fb.client.post(
        "/v25.0/dialog/oauth", params=params, data={"fb_dtsg": csrf, "action": "continue"}
    )
    assert nobody.status_code == 400


async def test_old_version_dialog_is_served_or_refused_per_policy(fb: FB) -> None:
    page = await fb.client.get("/v19.0/dialog/oauth", params=dialog_params())
    assert page.status_code == 200
    app = create_app(make_config(expired_version_policy="reject"))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE) as c:
        refused = await c.get("/v19.0/dialog/oauth", params=dialog_params())
    assert refused.status_code == 400
    assert "v19.0" in refused.text


async def test_pkce_method_checks(fb: FB) -> None:
    bad = await fb.client.get(
        "/v25.0/dialog/oauth",
        params=dialog_params(code_challenge="abc", code_challenge_method="MD5"),
    )
    assert bad.status_code == 400
    no_challenge = await fb.client.get(
        "/v25.0/dialog/oauth", params=dialog_params(code_challenge_method="S256")
    )
    assert no_challenge.status_code == 400
