"""The numbers the compiled loop and its Python side agree on: one place for each code.

numba compiles these module-level integers into the kernel as constants. (numba's on-disk cache
is keyed by the kernel modules' own files: after changing a number here, clear __pycache__.)
"""

from __future__ import annotations

# Activations, by the registry's names.
IDENTITY, BINARY_STEP, SIGMOID, TANH, RELU, LEAKY_RELU, ELU, SELU, SOFTMAX, SWISH, GELU, SOFTPLUS = range(12)
ACTIVATION_CODES = {
    "identity": IDENTITY,
    "binary_step": BINARY_STEP,
    "sigmoid": SIGMOID,
    "tanh": TANH,
    "relu": RELU,
    "leaky_relu": LEAKY_RELU,
    "elu": ELU,
    "selu": SELU,
    "softmax": SOFTMAX,
    "swish": SWISH,
    "gelu": GELU,
    "softplus": SOFTPLUS,
}

# Losses, by the registry's names.
HALF_SQUARED_ERROR, SQUARED_ERROR, MSE, BINARY_CROSS_ENTROPY, CROSS_ENTROPY, HINGE = range(6)
LOSS_CODES = {
    "half_squared_error": HALF_SQUARED_ERROR,
    "squared_error": SQUARED_ERROR,
    "mse": MSE,
    "binary_cross_entropy": BINARY_CROSS_ENTROPY,
    "cross_entropy": CROSS_ENTROPY,
    "hinge": HINGE,
}

# A layer's bias: none, one shared by all its neurons, or one per neuron.
BIAS_NONE, BIAS_SHARED, BIAS_NEURON = range(3)
BIAS_CODES = {"none": BIAS_NONE, "shared": BIAS_SHARED, "neuron": BIAS_NEURON}

# How an output counts as classified right: not at all (no classifier), one output against a cut
# (0.5, or 0 for hinge), or the largest of several outputs against the largest target.
CLASSIFY_NONE, CLASSIFY_CUT, CLASSIFY_ARGMAX = range(3)

# Which loop ran, as the loop itself says it: every compiled entry point returns its own id, and the
# Python side records the loop from that return value (never from what it meant to call).
LOOP_GENERAL, LOOP_SPECIALISED = 1, 2
LOOP_NAMES = {LOOP_GENERAL: "general", LOOP_SPECIALISED: "specialised"}
