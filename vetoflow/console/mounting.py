"""How the console is mounted (by `vetoflow ui` and by `serve` at /console): sign-in, theme, CSS, key bindings.

Its own module, below both ui.py and the API, so the API's app builds the console without reaching up.
"""

from __future__ import annotations

from typing import Any

import gradio as gr

from vetoflow.config import Settings
from vetoflow.console.keys import CSS as KEYS_CSS
from vetoflow.console.keys import KEYS_HEAD
from vetoflow.console.oidc_login import OidcLogin
from vetoflow.identity.directory import Directory
from vetoflow.identity.throttle import Throttle

CSS = (
    """
.gradio-container { max-width: 1400px !important; }
.gradio-container table, .gradio-container table *, .gradio-container .cell-wrap * {
  font-family: ui-sans-serif, system-ui, "DejaVu Sans", sans-serif !important;
}
#inbox-table td, #runs-table td { font-size: 0.9rem; }
#run-figures table { width: 100%; }
#run-message p, #new-upload-message p { font-size: 1rem; }
#run-approval { color: var(--body-text-color-subdued); }
#run-confirm { border: 2px solid var(--color-accent); padding: 0.5rem; }
"""
    + KEYS_CSS
)


def console_theme() -> gr.themes.Base:
    """System fonts only: the console must render with no internet access (no web fonts)."""
    system = ["ui-sans-serif", "system-ui", "DejaVu Sans", "sans-serif"]
    mono = ["ui-monospace", "DejaVu Sans Mono", "monospace"]
    return gr.themes.Soft(primary_hue="indigo", neutral_hue="slate", font=system, font_mono=mono)


def mount_options(
    settings: Settings, oidc: OidcLogin | None = None, *, throttle: Throttle | None = None
) -> dict[str, Any]:
    """Keyword arguments for `Blocks.launch` and `gr.mount_gradio_app`: logins (if any), theme and CSS.

    With OpenID Connect (`oidc`), Gradio asks the signed session for the user instead of showing its form.
    `throttle`: where failed sign-ins are counted (a server's: the database, shared by every instance).
    """
    options: dict[str, Any] = {"theme": console_theme(), "css": CSS, "head": KEYS_HEAD, "footer_links": []}
    if oidc is not None:
        return options | {"auth_dependency": oidc.auth_dependency}
    check = Directory.from_settings(settings, throttle).password_checker()
    if check is not None:
        options |= {"auth": check, "auth_message": "vetoflow console: sign in; you are the reviewer of record."}
    return options
