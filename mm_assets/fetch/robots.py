"""`X-Robots-Tag` directives that forbid using a resource for AI training (`noai`, `noimageai`).

A header may be sent several times; each value is a comma-separated list of directives, either for
every crawler (`noai, noimageai`) or for one user-agent token (`mm_assets: noai`). Directives for
other crawlers do not apply to us.
"""

from __future__ import annotations

from typing import Iterable

REFUSING_DIRECTIVES = frozenset({"noai", "noimageai"})


def refusing_directive(values: Iterable[str], user_agent_token: str) -> str | None:
    """The directive that forbids our use of the resource, or None."""
    token = user_agent_token.lower()
    for value in values:
        scope, colon, rest = value.partition(":")
        # "googlebot: noindex" is scoped; "noai" and "unavailable_after: <date>" are not.
        scoped = bool(colon) and "," not in scope and scope.strip().lower() not in ("unavailable_after",)
        if scoped and scope.strip().lower() != token:
            continue
        directives = rest if scoped else value
        for directive in directives.split(","):
            name = directive.strip().lower()
            if name in REFUSING_DIRECTIVES:
                return name
    return None
