"""Facebook's documented permission names, so a typo is caught where it is written.

The list follows Facebook's permissions reference (developers.facebook.com/docs/permissions),
kept to the names a Facebook Login dialog accepts in ``scope``. A name missing from it makes
Facebook answer "Invalid Scopes" only when a person reaches the dialog; here it fails at start,
with a suggestion.
"""

from __future__ import annotations

from difflib import SequenceMatcher

PERMISSIONS = frozenset(
    {
        # A person's own data (Facebook Login).
        "public_profile", "email", "openid", "user_age_range", "user_birthday",
        "user_friends", "user_gender", "user_hometown", "user_likes", "user_link",
        "user_location", "user_messenger_contact", "user_photos", "user_posts", "user_videos",
        "user_events",
        # Pages and Messenger.
        "pages_show_list", "pages_messaging", "pages_manage_metadata", "pages_read_engagement",
        "pages_read_user_content", "pages_manage_posts", "pages_manage_engagement",
        "pages_manage_ads", "pages_manage_cta", "pages_manage_instant_articles",
        "pages_utility_messaging", "page_events", "read_page_mailboxes", "read_insights",
        "leads_retrieval",
        # Business, ads and commerce.
        "ads_management", "ads_read", "attribution_read", "business_management",
        "catalog_management", "commerce_account_manage_orders", "commerce_account_read_orders",
        "commerce_account_read_reports", "commerce_account_read_settings",
        "commerce_manage_accounts", "private_computation_access",
        "read_audience_network_insights", "manage_fundraisers", "publish_video",
        "gaming_user_locale", "groups_access_member_info",
        # Instagram (through a Facebook Page) and WhatsApp.
        "instagram_basic", "instagram_content_publish", "instagram_manage_comments",
        "instagram_manage_insights", "instagram_manage_messages", "instagram_manage_events",
        "instagram_manage_upcoming_events", "instagram_shopping_tag_products",
        "instagram_branded_content_brand", "instagram_branded_content_creator",
        "instagram_branded_content_ads_brand", "whatsapp_business_management",
        "whatsapp_business_messaging",
    }
)  # fmt: skip

_USER_PREFIX = "user_"


def _likeness(typed: str, known: str) -> float:
    # "user_emial" must find "email": compare without the user_ prefix as well, or the shared
    # prefix makes every user_* permission look closer than the one meant.
    whole = SequenceMatcher(None, typed, known).ratio()
    bare = SequenceMatcher(
        None, typed.removeprefix(_USER_PREFIX), known.removeprefix(_USER_PREFIX)
    ).ratio()
    return max(whole, bare)


def closest_permission(name: str) -> str | None:
    """The documented permission ``name`` was most likely meant to be, if one is close."""
    scored = sorted(((_likeness(name, known), known) for known in PERMISSIONS), reverse=True)
    score, best = scored[0]
    return best if score >= 0.7 else None


def unknown_permission(name: str) -> str | None:
    """None for a documented permission; otherwise what is wrong with ``name``, for a person."""
    if name in PERMISSIONS:
        return None
    message = f"{name!r} is not a Facebook permission"
    suggestion = closest_permission(name.strip().lower())
    if suggestion is not None and suggestion != name:
        return f"{message} (did you mean {suggestion!r}?)"
    return f"{message} (see developers.facebook.com/docs/permissions for the list)"
