"""The fields of the Page node, the User node (by ASID) and the User Profile API (by PSID),
and the `/{id}/picture` edge.

User node (Graph reference, User): the public_profile fields are always answered; a field that
needs a permission the person did not grant (email, link, gender, birthday) is left out without
an error, as Facebook does; a field that does not exist is (#100). `middle_name` is absent
because no fake person has one, which is how Facebook answers for such a person.

User Profile API (contract §5): id, name, first_name, last_name and profile_pic are open to the
page token; locale, timezone and gender need the approved "Business Asset User Profile Access"
feature, and without it the whole call fails with (#100) subcode 2018247, as Facebook answers.
`profile_extended_access` in the config stands for that approval.
"""

from __future__ import annotations

from typing import Any

from fakebook.config import PageConfig
from fakebook.errors import invalid_param
from fakebook.graph.base import GraphRequest
from fakebook.graph.fields import FieldSpec, parse_fields
from fakebook.people import Person

SUBCODE_PROFILE_PERMISSION = 2018247
PROFILE_OPEN = ("id", "name", "first_name", "last_name", "profile_pic")
PROFILE_GATED = ("locale", "timezone", "gender")
# The user node field that needs each permission; others need only public_profile.
USER_FIELD_PERMISSIONS = {
    "email": "email",
    "link": "user_link",
    "gender": "user_gender",
    "birthday": "user_birthday",
}
# Facebook's picture sizes by `type`; a field without type gets the small square.
PICTURE_SIZES = {"small": 50, "square": 50, "normal": 100, "album": 200, "large": 200}


def requested(req: GraphRequest, default: tuple[str, ...]) -> tuple[FieldSpec, ...]:
    raw = req.text("fields")
    if raw is None:
        return tuple(FieldSpec(name) for name in default)
    return parse_fields(raw)


def _pick(values: dict[str, Any], specs: tuple[FieldSpec, ...], node_type: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for spec in specs:
        if spec.name not in values:
            raise invalid_param(
                f"Tried accessing nonexisting field ({spec.name}) on node type ({node_type})"
            )
        value = values[spec.name]
        if callable(value):
            value = value(spec)
        if value is not None:
            out[spec.name] = value
    # Facebook always answers with the id, even when it was not asked for.
    out.setdefault("id", values["id"])
    return out


def picture_data(req: GraphRequest, ident: str, modifiers: dict[str, str]) -> dict[str, Any]:
    size = PICTURE_SIZES.get(modifiers.get("type", "square"), 50)
    width = int(modifiers["width"]) if modifiers.get("width", "").isdigit() else size
    height = int(modifiers["height"]) if modifiers.get("height", "").isdigit() else width
    return {
        "height": height,
        "is_silhouette": False,
        "url": f"{req.public_url()}/avatar/{ident}.svg?width={width}&height={height}",
        "width": width,
    }


def _picture_field(req: GraphRequest, ident: str) -> Any:
    def value(spec: FieldSpec) -> dict[str, Any]:
        data = picture_data(req, ident, spec.modifiers)
        if spec.subfields is not None:
            wanted = {sub.name for sub in spec.subfields}
            data = {key: val for key, val in data.items() if key in wanted}
        return {"data": data}

    return value


def page_node(req: GraphRequest, page: PageConfig | None = None) -> dict[str, Any]:
    page = page or req.page
    values: dict[str, Any] = {
        "id": page.id,
        "name": page.name,
        "username": page.username,
        "link": f"https://www.facebook.com/{page.username or page.id}",
        "picture": _picture_field(req, page.id),
    }
    return _pick(values, requested(req, ("name", "id")), "Page")


def user_node(req: GraphRequest, person: Person) -> dict[str, Any]:
    grants = req.state.grants.get(person.asid)
    granted = set(grants.granted) if grants is not None else set()
    values: dict[str, Any] = {
        "id": person.asid,
        "name": person.name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "middle_name": None,
        "short_name": person.first_name,
        "name_format": "{first} {last}",
        "picture": _picture_field(req, person.asid),
        "installed": True if grants is not None else None,
        "email": person.email,
        # An app-scoped link, as Facebook gives since v2.0.
        "link": f"https://www.facebook.com/app_scoped_user_id/{person.asid}/",
        "gender": person.gender,
        "birthday": person.birthday,
    }
    for name, permission in USER_FIELD_PERMISSIONS.items():
        if permission not in granted:
            values[name] = None
    return _pick(values, requested(req, ("name", "id")), "User")


def profile_node(req: GraphRequest, person: Person) -> dict[str, Any]:
    specs = requested(req, ("first_name", "last_name", "profile_pic"))
    gated = [spec.name for spec in specs if spec.name in PROFILE_GATED]
    if gated and not req.config.profile_extended_access:
        raise invalid_param(
            "Insufficient permission to access user profile.", subcode=SUBCODE_PROFILE_PERMISSION
        )
    values: dict[str, Any] = {
        "id": person.psid,
        "name": person.name,
        "first_name": person.first_name,
        "last_name": person.last_name,
        "profile_pic": f"{req.public_url()}/avatar/{person.psid}.svg",
        "locale": person.locale,
        "timezone": person.timezone,
        "gender": person.gender,
    }
    return _pick(values, specs, "User")
