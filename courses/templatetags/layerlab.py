from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()


def localized(obj: Any, field: str = "title", english_field: str = "") -> str:
    """The English variant of a field (`title_en`, or `english_field`) on English pages when
    there is one; else the field itself (Korean)."""
    if (get_language() or "").startswith("en"):
        english = getattr(obj, english_field or f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field, ""))


@register.filter
def loc(obj: Any, field: str = "title") -> str:
    return localized(obj, field)
