"""For the people who run the platform: `/healthz` for a load balancer or a monitor, `/metrics`
for Prometheus (docs/deployment.md, "Observability"). Neither needs a login; the metrics are
only for the addresses in LAYERLAB_METRICS_ALLOW."""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.registry import CollectorRegistry

from labs.metrics import LayerlabCollector, health

_registry = CollectorRegistry(auto_describe=False)
_registry.register(LayerlabCollector())


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    report = health()
    return JsonResponse(report, status=200 if report["ok"] else 503)


def _allowed(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in ipaddress.ip_network(net, strict=False) for net in settings.LAYERLAB_METRICS_ALLOW)


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    if not _allowed(request.META.get("REMOTE_ADDR", "")):
        return HttpResponse("metrics are not served to this address\n", status=403, content_type="text/plain")
    return HttpResponse(generate_latest(_registry), content_type=CONTENT_TYPE_LATEST)
