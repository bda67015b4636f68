"""`python -m payment_participant` (run from participants/python with the venv's python)."""
from __future__ import annotations

import sys

from .signals import block_stop_signals

block_stop_signals()  # before anything imports grpc and starts threads

from .server import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
