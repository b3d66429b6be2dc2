"""Training PD models from contract-described snapshots."""

from models.training.scoring_model import ModelInputError, PlattCalibration, ScoringModel
from models.training.train import (
    MODEL_NAME,
    TrainingDataError,
    TrainingPlan,
    TrainingResult,
    train_candidates,
)

__all__ = [
    "MODEL_NAME",
    "ModelInputError",
    "PlattCalibration",
    "ScoringModel",
    "TrainingDataError",
    "TrainingPlan",
    "TrainingResult",
    "train_candidates",
]
