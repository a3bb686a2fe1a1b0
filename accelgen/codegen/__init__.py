"""Code generation: the Vitis HLS project of a design (``hls_project``) and its DDR parameter blob
(``pack``). Everything here is a pure function of (integer graph, design, board)."""
