"""Honest evaluation of PD models: discrimination, calibration, truth, explanations."""
