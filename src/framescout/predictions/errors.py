"""`PredictionsError` and the array types, apart from the container so the converters need neither
`Predictions` nor an import inside a function."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]


class PredictionsError(ValueError):
    """Raised when detections are malformed (wrong shapes, missing fields, bad values)."""
