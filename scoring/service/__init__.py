"""The service layer: plain functions that take a unit of work and adapters, and return views."""
