"""Placeholder: commands are being written."""
