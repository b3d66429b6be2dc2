"""Credit-decision domain: pure functions and value objects, no I/O and no frameworks."""
