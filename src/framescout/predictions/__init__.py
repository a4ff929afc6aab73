"""One frame's detections (`Predictions`), converters from other detection formats, and the one
stored box type (`Box`) with its conversions."""

from framescout.predictions.box import Box
from framescout.predictions.core import Predictions, PredictionsError

__all__ = ["Box", "Predictions", "PredictionsError"]
