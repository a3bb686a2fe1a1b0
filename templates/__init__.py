"""Data package: templates (found through importlib.resources)."""
