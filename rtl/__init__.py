"""Data package: rtl (found through importlib.resources)."""
