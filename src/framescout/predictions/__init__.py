"""One frame's detections (`Predictions`) and converters from other detection formats."""

from framescout.predictions.core import Predictions, PredictionsError

__all__ = ["Predictions", "PredictionsError"]
