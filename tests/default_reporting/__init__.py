"""Payment-default reporting to the bureau."""
