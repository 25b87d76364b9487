"""Where a server without logins may listen: an open console or API only on this machine."""

from __future__ import annotations

from vetoflow.errors import VetoflowError
from vetoflow.netloc import is_loopback


def check_bind(host: str, has_logins: bool | dict[str, str]) -> None:
    """An open console (no logins) must not be reachable from other machines."""
    if not has_logins and not is_loopback(host):
        raise VetoflowError(
            f"--host {host}: the console has no logins, so it only binds to localhost (127.0.0.1, ::1); "
            "set VETOFLOW_UI_USERS='user:password,...' or VETOFLOW_UI_USERS_FILE to serve it on other addresses"
        )
