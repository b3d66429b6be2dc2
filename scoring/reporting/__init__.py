"""Reporting to outside parties: payment defaults to the credit bureau."""
