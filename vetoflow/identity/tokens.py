"""Demo API tokens (`VETOFLOW_API_TOKENS`, `VETOFLOW_API_TOKENS_FILE`: `token:reviewer` entries).

Kept out of the API package so identity (which every command loads) does not import FastAPI for them.
Tokens are compared in constant time; the table never prints them.
"""

from __future__ import annotations

from dataclasses import dataclass

from vetoflow.config import Settings
from vetoflow.errors import VetoflowError

MIN_TOKEN_LENGTH = 16


@dataclass(frozen=True)
class TokenTable:
    entries: tuple[tuple[bytes, str], ...]

    @classmethod
    def parse(cls, text: str, source: str) -> TokenTable:
        entries: list[tuple[bytes, str]] = []
        for number, raw in enumerate(text.replace(",", "\n").splitlines(), start=1):
            item = raw.strip()
            if not item or item.startswith("#"):
                continue
            token, sep, reviewer = item.rpartition(":")
            if not sep or not token or not reviewer.strip():
                raise VetoflowError(f"{source} entry {number}: expected 'token:reviewer'")
            if len(token) < MIN_TOKEN_LENGTH:
                raise VetoflowError(f"{source} entry {number}: tokens need at least {MIN_TOKEN_LENGTH} characters")
            entries.append((token.encode(), reviewer.strip()[:120]))
        return cls(tuple(entries))

    @classmethod
    def from_settings(cls, settings: Settings) -> TokenTable:
        entries: tuple[tuple[bytes, str], ...] = ()
        texts = settings.credential_texts(settings.api_tokens, settings.api_tokens_file, "VETOFLOW_API_TOKENS")
        for text, source in texts:
            entries += cls.parse(text, source).entries
        return cls(entries)
