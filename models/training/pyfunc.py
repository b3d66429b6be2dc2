"""MLflow pyfunc face of a :class:`ScoringModel`, for batch users of the registry.

The decision service never loads through this wrapper (it adds latency per call); it reads
the same model folder with :meth:`ScoringModel.load`.
"""

from __future__ import annotations

import mlflow.pyfunc

ARTIFACT_KEY = "scoring_model"


class ScoringModelPyfunc(mlflow.pyfunc.PythonModel):
    """Predicts calibrated PDs from a features DataFrame."""

    def load_context(self, context):
        from models.training.scoring_model import ScoringModel

        self.model = ScoringModel.load(context.artifacts[ARTIFACT_KEY])

    def predict(self, context, model_input, params=None):
        return self.model.predict_pd(model_input)
