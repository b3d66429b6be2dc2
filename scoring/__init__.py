"""Decision service: domain logic, HTTP API, bureau client and persistence."""

__version__ = "0.1.0"
