"""Read plain pickles of numpy arrays without letting the file run arbitrary code."""
from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any

import numpy as np

try:  # numpy >= 2 moved the array reconstructor; pickles written by numpy 1 still name the old path
    from numpy._core.multiarray import _reconstruct
except ImportError:  # pragma: no cover - numpy 1.x
    from numpy.core.multiarray import _reconstruct

# The only globals an ndarray pickle needs; everything else (os.system, builtins.eval, ...) is refused.
_ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy._core.multiarray", "_reconstruct"): _reconstruct,
    ("numpy", "ndarray"): np.ndarray,
    ("numpy", "dtype"): np.dtype,
}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickler that can rebuild numpy arrays (and dicts/lists/str/numbers) and nothing else."""

    def find_class(self, module: str, name: str) -> Any:
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(
                f"refusing to load global {module}.{name}: only numpy array reconstruction is allowed") from None


def load_numpy_pickle(path: str | Path) -> Any:
    """Load a pickle that may only contain containers of numpy arrays."""
    with open(path, "rb") as f:
        return NumpyOnlyUnpickler(io.BytesIO(f.read())).load()
