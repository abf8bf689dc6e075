"""Cache key function: every key carries the current tenant (or `platform`)."""

from .context import current_scope


def make_key(key: str, key_prefix: str, version: int) -> str:
    scope = current_scope()
    owner = f"t{scope.pk}" if getattr(scope, "pk", None) else "platform"
    return f"{key_prefix}:{version}:{owner}:{key}"
