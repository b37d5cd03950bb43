"""The simulated SGLang engine: an SGLang-compatible HTTP server whose token timing comes from a
performance model (perf_model.py) driving a continuous-batching scheduler (scheduler.py), and
offline prediction of benchmark points in virtual time (predict.py).
"""

SIM_VERSION = "sim-0.4.0"
SGLANG_VERSION = "0.5.23-sim"
