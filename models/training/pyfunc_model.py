"""The model code MLflow logs with every registered version (MLflow's models-from-code).

Loading a version runs this file, which builds the wrapper from the installed package: no
pickled Python object is stored in the registry, and none is executed when a version loads.
"""

from mlflow.models import set_model

from models.training.pyfunc import ScoringModelPyfunc

set_model(ScoringModelPyfunc())
