"""Metrics of medical image segmentation: overlap (Dice, IoU) and boundary distances (HD95, ASSD) through MONAI
with stated conventions for empty masks and pixel spacing, head circumference as HC18 measures it, and the
calibration of ensembles. Each comes as a pure function and an accumulating class (update / compute / reset).
Nothing heavy is imported here: MONAI, OpenCV and scipy load when a metric first needs them."""
from morphogen.medical.metrics.calibration import (
    Calibration, CalibrationResult, ReliabilityTable, UncertaintyCorrelation, calibration, reliability,
    uncertainty_correlation,
)
from morphogen.medical.metrics.circumference import (
    Ellipse, HCDifference, HCError, HCResult, ellipse_perimeter, fit_ellipse, hc_error, hc_errors,
    head_circumference,
)
from morphogen.medical.metrics.distance import (
    ASSD, HD95, assd, assd_batch, hausdorff_distance, hd95, hd95_batch,
)
from morphogen.medical.metrics.overlap import DiceScore, IoUScore, dice, dice_batch, iou, iou_batch
from morphogen.medical.metrics.summary import ImageScores, summarize

__all__ = [
    "ASSD", "Calibration", "CalibrationResult", "DiceScore", "Ellipse", "HCDifference", "HCError", "HCResult",
    "HD95", "ImageScores", "IoUScore", "ReliabilityTable", "UncertaintyCorrelation", "assd", "assd_batch",
    "calibration", "dice", "dice_batch", "ellipse_perimeter", "fit_ellipse", "hausdorff_distance", "hc_error",
    "hc_errors", "hd95", "hd95_batch", "head_circumference", "iou", "iou_batch", "reliability", "summarize",
    "uncertainty_correlation",
]
