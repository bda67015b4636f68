"""Process configuration from the environment (PARTICIPANT-PROTOCOL.md, "Start-up")."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any, Mapping


class ConfigError(ValueError):
    pass


@dataclass(frozen=True)
class Config:
    db: str
    host: str = "127.0.0.1"
    port: int = 0
    seed: dict[str, Any] = field(default_factory=dict)
    # SQLite file of the payment-gateway stand-in; empty = "<db>.gateway.db".
    gateway_db: str = ""

    @property
    def gateway_path(self) -> str:
        return self.gateway_db or f"{self.db}.gateway.db"

    @property
    def bind_address(self) -> str:
        # IPv6 literals need brackets in "host:port".
        host = f"[{self.host}]" if ":" in self.host and not self.host.startswith("[") else self.host
        return f"{host}:{self.port}"


def from_env(env: Mapping[str, str] = os.environ) -> Config:
    db = env.get("PARTICIPANT_DB", "")
    if not db:
        raise ConfigError("PARTICIPANT_DB is required (path of the participant's SQLite file)")
    host = env.get("PARTICIPANT_HOST", "") or "127.0.0.1"
    port_text = env.get("PARTICIPANT_PORT", "") or "0"
    try:
        port = int(port_text)
    except ValueError:
        raise ConfigError(f"PARTICIPANT_PORT must be an integer, got {port_text!r}") from None
    if not 0 <= port <= 65535:
        raise ConfigError(f"PARTICIPANT_PORT must be 0..65535, got {port}")
    seed_text = env.get("PARTICIPANT_SEED", "") or "{}"
    try:
        seed = json.loads(seed_text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"PARTICIPANT_SEED is not valid JSON: {exc.msg}") from None
    if not isinstance(seed, dict):
        raise ConfigError("PARTICIPANT_SEED must be a JSON object")
    gateway_db = env.get("PARTICIPANT_GATEWAY_DB", "")
    return Config(db=db, host=host, port=port, seed=seed, gateway_db=gateway_db)
