"""HTTP API for the sales system (FastAPI)."""
