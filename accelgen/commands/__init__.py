"""CLI subcommands that drive a simulator over a build folder (the CLI registers them; the simulators in
accelgen/sim never import the CLI or these)."""
