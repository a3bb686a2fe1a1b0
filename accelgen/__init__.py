"""accelgen: a compiler from quantized Vision Transformers (Brevitas/QONNX) to FPGA accelerators."""
