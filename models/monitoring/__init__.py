"""Monitoring of live decisions against the population a model was trained on."""
