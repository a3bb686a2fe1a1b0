"""The one description of the hardware template: its constants (constants.py), the plan of a design
(plan.py: schedule, GELU fusion, tensor placement, output tiles), the layout of the parameter stream
with closed-form sizes (stream.py) and the Verilog units' interfaces (rtl_interfaces.py). The perf model
prices these, codegen renders them, the simulators drive them; nothing else restates them."""
