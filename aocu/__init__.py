"""aocu: an ao Compute Unit in Python.

Subpackages: :mod:`aocu.wasm` runs ao process modules exactly like ao-loader;
the pipeline, stores, clients and HTTP service build on it.
"""

__version__ = "0.1.0"
