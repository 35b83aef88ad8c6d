from typing import Any

from django import template
from django.utils.translation import get_language

register = template.Library()


@register.filter
def loc(obj: Any, field: str = "title") -> str:
    """The English variant of a field (`title_en`) on English pages when there is one."""
    if (get_language() or "").startswith("en"):
        english = getattr(obj, f"{field}_en", "")
        if english:
            return str(english)
    return str(getattr(obj, field, ""))
