"""The deploy package of a build (DIR/deploy/): the board-side driver (accelgen.runtime), its data file, the
parameter blob, sample images with their expected logits, the demo notebook and a README; plus the
simulated PYNQ device that runs the same driver against the C-simulated accelerator."""
