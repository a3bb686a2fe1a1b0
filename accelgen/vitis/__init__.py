"""The Vitis HLS / Vivado flow of a generated project: its steps and file names (flow), the runner of the
tools when they are installed (synth), and the parsers of their reports (reports)."""
