"""MLflow pyfunc face of a :class:`ScoringModel`, for batch users of the registry.

The decision service never loads through this wrapper (it adds latency per call); it reads
the same model folder with :meth:`ScoringModel.load`. Each registered version logs
:mod:`models.training.pyfunc_model` as its model code, which builds this wrapper, rather
than a pickled instance of it.
"""

from __future__ import annotations

from typing import Any

import mlflow.pyfunc
import numpy as np
import pandas as pd

from models.training.scoring_model import ARTIFACT_KEY


class ScoringModelPyfunc(mlflow.pyfunc.PythonModel):
    """Predicts calibrated PDs from a features DataFrame."""

    def load_context(self, context: mlflow.pyfunc.PythonModelContext) -> None:
        from models.training.scoring_model import ScoringModel

        self.model = ScoringModel.load(context.artifacts[ARTIFACT_KEY])

    # Typed so MLflow knows the input is a DataFrame checked against the logged signature.
    def predict(
        self,
        context: mlflow.pyfunc.PythonModelContext,
        model_input: pd.DataFrame,
        params: dict[str, Any] | None = None,
    ) -> np.ndarray:
        return self.model.predict_pd(model_input)
