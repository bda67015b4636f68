"""Loads the generated saga.v1 stubs from participants/python/gen (gitignored, made by gen.sh).

grpc_tools emits `from saga.v1 import participant_pb2` style imports relative to its output
root, so that root has to be on sys.path.
"""
from __future__ import annotations

import sys
from pathlib import Path

GEN_DIR = Path(__file__).resolve().parent.parent / "gen"

if str(GEN_DIR) not in sys.path:
    sys.path.insert(0, str(GEN_DIR))

try:
    from saga.v1 import participant_pb2 as pb  # noqa: E402
    from saga.v1 import participant_pb2_grpc as pb_grpc  # noqa: E402
except ImportError as exc:  # pragma: no cover - only on a machine without generated stubs
    raise ImportError(
        f"generated stubs not found in {GEN_DIR}; run participants/python/scripts/setup.sh"
    ) from exc

__all__ = ["pb", "pb_grpc", "GEN_DIR"]
