"""alis_research: retention, turnover and contract-duration analyses of ALIS training positions."""
from __future__ import annotations

__version__ = "0.1.0"
