import zoneinfo
from datetime import datetime
from typing import Any

from django import template
from django.utils import timezone
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


def format_when(value: datetime | None, zone: str = "", *, seconds: bool = False) -> str:
    """A moment as every page shows it: the wall-clock time in `zone` (a run's zone; the site's
    when empty) and that zone's abbreviation, "2026-12-02 14:00 KST". A zone without a
    lettered abbreviation is shown by its offset, "UTC+04"."""
    if value is None:
        return ""
    tz = zoneinfo.ZoneInfo(zone) if zone else timezone.get_current_timezone()
    local = timezone.localtime(value, tz) if timezone.is_aware(value) else value.replace(tzinfo=tz)
    name = local.tzname() or ""
    if name[:1] in "+-":
        name = f"UTC{name}"
    shown = f"{local:%Y-%m-%d %H:%M:%S}" if seconds else f"{local:%Y-%m-%d %H:%M}"
    return f"{shown} {name}".rstrip()


@register.filter
def when(value: datetime | None, zone: str = "") -> str:
    return format_when(value, zone)


@register.filter
def when_seconds(value: datetime | None, zone: str = "") -> str:
    return format_when(value, zone, seconds=True)
