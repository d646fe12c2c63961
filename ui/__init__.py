"""PySide6 views over the core's models."""
