"""The one definition of accelgen's integer arithmetic (see docs/numerics.md).

Everything that loses precision — requantization, the nonlinear units, their tables — is defined here and
nowhere else; the C++ kernels (hls/) and the Verilog units (rtl/) are checked against these functions bit
for bit. All functions are vectorised NumPy over int64 arrays.
"""
