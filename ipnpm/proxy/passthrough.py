"""Everything that is neither a packument GET nor a tarball (publish, whoami, audit, search…)
goes to the right upstream with the user's credentials attached."""

from __future__ import annotations

from collections.abc import Mapping

from ipnpm.clients.lazy import requests
from ipnpm.proxy.bodies import Body, upload
from ipnpm.proxy.packuments import Answer, not_found
from ipnpm.proxy.paths import scope_of
from ipnpm.proxy.wire import read_wire
from ipnpm.run.context import RunContext

# Hop-by-hop headers (RFC 9110 §7.6.1) and the ones the proxy owns.
_DROP_REQUEST = frozenset(
    {
        "host",
        "authorization",
        "connection",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "content-length",
        "accept-encoding",
        "expect",  # the proxy itself answered any "100-continue" before reading the body
    }
)


# npm reads these: an OTP challenge on publish, registry notices it prints.
_KEEP_RESPONSE = frozenset({"www-authenticate", "npm-notice", "location"})


def forward(
    context: RunContext,
    method: str,
    raw_path: str,
    headers: Mapping[str, str],
    body: Body | None,
) -> Answer:
    """Send the request upstream, its body streamed as it arrives (``bodies.BadRequest`` when
    it ends early or grows too big: the upstream connection is then dropped mid-body)."""
    if context.upstream is None:
        return not_found(f"ipnpm: offline: {method} {raw_path.split('?', 1)[0]} needs the registry")
    scope = scope_of(raw_path)
    registry = (
        context.config.scopes.get(scope, context.config.registry)
        if scope
        else (context.config.registry)
    )
    url = registry + raw_path.lstrip("/")
    sent = {key: value for key, value in headers.items() if key.lower() not in _DROP_REQUEST}
    try:
        # A redirect would send the body again, and it is gone: npm gets the redirect instead.
        response = context.upstream.request(
            method, url, headers=sent, body=upload(body), stream=True, redirects=body is None
        )
        wire = read_wire(response)
    except requests.RequestException as exc:
        why = context.upstream.describe_failure(exc, url)
        context.log.event("upstream-failed", url=url, reason=why)
        return not_found(f"ipnpm: {why}")
    content_type = response.headers.get("Content-Type", "application/json")
    kept = tuple(
        (key, value) for key, value in response.headers.items() if key.lower() in _KEEP_RESPONSE
    )
    return Answer(
        response.status_code,
        wire.raw,
        content_type,
        headers=kept,
        encoding=wire.encoding,
        sized=wire.sized,
    )
