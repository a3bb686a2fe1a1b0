"""Data package: boards (found through importlib.resources)."""
