"""Data package: hls (found through importlib.resources)."""
