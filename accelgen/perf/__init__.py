"""The performance model: cycles, resources and the design-space exploration (docs/hardware.md)."""
