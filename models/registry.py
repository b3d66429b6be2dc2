"""The MLflow registry adapter: log training runs, register and load ``installment-pd``.

Tracking URI and artifact root come from :func:`scoring.config.get_settings` (embedded
SQLite and a local folder by default); telemetry is switched off before MLflow loads.
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version as package_version
from pathlib import Path
from typing import Any

from models.training.scorecard_tables import TABLES_FILE, WoeTables
from models.training.scoring_model import ARTIFACT_KEY, ScoringModel
from scoring.domain.errors import ConflictError, NotFoundError

os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
# MLflow logs at INFO what it does on every call (tables created, uv files copied); the
# commands print their own progress. MLflow's warnings still show.
os.environ.setdefault("MLFLOW_LOGGING_LEVEL", "WARNING")

MODEL_NAME = "installment-pd"
EXPERIMENT_NAME = "installment-pd"
CHAMPION = "champion"
CHALLENGER = "challenger"
# Logged with each version as its model code (MLflow's models-from-code, no pickle).
PYFUNC_MODEL_CODE = Path(__file__).parent / "training" / "pyfunc_model.py"
_REQUIREMENTS = ("lightgbm", "optbinning", "scikit-learn", "pandas", "numpy")


class RegistryError(NotFoundError, LookupError):
    """A model version or alias the registry does not hold."""


@dataclass(frozen=True)
class LoggedRun:
    run_id: str
    versions: dict[str, str]


def _settings(settings=None):
    if settings is None:
        from scoring.config import get_settings

        settings = get_settings()
    return settings


def mlflow_client(settings=None):
    """An MlflowClient on the configured tracking and registry store."""
    os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
    import mlflow
    from mlflow import MlflowClient

    settings = _settings(settings)
    settings.mlflow_artifact_root.mkdir(parents=True, exist_ok=True)
    mlflow.set_tracking_uri(settings.mlflow_tracking_uri)
    mlflow.set_registry_uri(settings.mlflow_tracking_uri)
    return MlflowClient(settings.mlflow_tracking_uri, settings.mlflow_tracking_uri)


def experiment_id(client, settings, name: str = EXPERIMENT_NAME) -> str:
    """The MLflow experiment ``name``, made with the configured artifact root if it is new."""
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return client.create_experiment(name, artifact_location=settings.mlflow_artifact_root.as_uri())


def _flat_params(params: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out = {}
    for key, value in params.items():
        if isinstance(value, dict):
            out.update(_flat_params(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = str(value)[:500]
    return out


def log_training(
    *,
    result,
    evaluations: dict,
    run_dir: Path,
    settings=None,
    register: bool = True,
) -> LoggedRun:
    """Log one training run (params, metrics, report, models) and register each candidate."""
    import mlflow
    from mlflow.models import infer_signature

    # Training's own imports (pandas, scipy): the serving path reads versions without them.
    from models.evaluation.known_limits import TAG as KNOWN_LIMITS_TAG
    from models.evaluation.known_limits import known_limits_tables, tables_json

    settings = _settings(settings)
    client = mlflow_client(settings)
    experiment = experiment_id(client, settings)
    plan = result.plan
    sample = (
        result.split.evaluation[plan.features]
        .head(5)
        .astype({f: "float64" for f in plan.features if f not in plan.categorical})
    )
    environment = _model_environment()
    versions: dict[str, str] = {}
    with mlflow.start_run(experiment_id=experiment) as run:
        mlflow.set_tags(
            {
                "contract_id": plan.contract_id,
                "contract_version": plan.contract_version,
                "data_fingerprint": result.fingerprint,
            }
        )
        params = dict(
            result.params,
            contract=f"{plan.contract_id} {plan.contract_version}",
            data_fingerprint=result.fingerprint,
            split=result.split.describe(),
        )
        for kind, model in result.models.items():
            params[f"{kind}.calibration_slope"] = model.calibration.slope
            params[f"{kind}.calibration_intercept"] = model.calibration.intercept
            if kind == "lightgbm":
                params[f"{kind}.trees"] = model.metadata.get("trees")
                params[f"{kind}.params"] = model.metadata.get("params", {})
        mlflow.log_params(_flat_params(params))
        metrics = {f"timing.{k}": v for k, v in result.timings.items()}
        for kind, evaluation in evaluations.items():
            metrics.update({f"{kind}.{k}": float(v) for k, v in evaluation.metrics.items()})
        mlflow.log_metrics(metrics)
        mlflow.log_artifacts(str(run_dir), artifact_path="report")
        limits = {
            kind: known_limits_tables(
                model, result.split.evaluation, target=plan.target, evaluation=evaluations[kind]
            )
            for kind, model in result.models.items()
        }
        for kind, tables in limits.items():
            mlflow.log_dict(tables, f"known_limits/{kind}.json")
        for kind, model in result.models.items():
            with tempfile.TemporaryDirectory() as tmp:
                model_dir = model.save(Path(tmp) / ARTIFACT_KEY)
                with _without_registration_notices():
                    info = mlflow.pyfunc.log_model(
                        name=f"model_{kind}",
                        python_model=str(PYFUNC_MODEL_CODE),
                        artifacts={ARTIFACT_KEY: str(model_dir)},
                        signature=infer_signature(sample, model.predict_pd(sample)),
                        input_example=sample,
                        conda_env=environment,
                        registered_model_name=plan.model_name if register else None,
                    )
            if register:
                version = str(info.registered_model_version)
                versions[kind] = version
                tags = {
                    "kind": kind,
                    "run_id": run.info.run_id,
                    "contract_id": plan.contract_id,
                    "contract_version": plan.contract_version,
                    "data_fingerprint": result.fingerprint,
                    "features": ",".join(model.feature_names),
                    **{k: f"{float(v):.6g}" for k, v in evaluations[kind].metrics.items()},
                }
                # The segment and calibration tables the case page reads for this version.
                tags[KNOWN_LIMITS_TAG] = tables_json(limits[kind])
                for key, value in tags.items():
                    client.set_model_version_tag(plan.model_name, version, key, value)
        from models.model_card import CARD_DATA_DIR, card_data

        # Segment and fairness tables, with their intervals, for the model card.
        with tempfile.TemporaryDirectory() as tmp:
            for kind, evaluation in evaluations.items():
                (Path(tmp) / f"{kind}.json").write_text(card_data(evaluation), encoding="utf-8")
            mlflow.log_artifacts(tmp, artifact_path=CARD_DATA_DIR)
    if register and plan.model_name == MODEL_NAME:
        from models.model_card import write_model_card

        # Every registered version gets its card at training (AI Act Annex IV).
        for version in versions.values():
            write_model_card(version, settings=settings)
    return LoggedRun(run_id=run.info.run_id, versions=versions)


# What MLflow prints (not logs) to stderr while it registers a version: the command
# reports the versions it registered itself, in one line.
_REGISTRATION_NOTICES = re.compile(
    r"^(Successfully registered model '[^']*'\.|Registered model '[^']*' already exists\. "
    r"Creating a new version of this model\.\.\.|Created version '[^']*' of model '[^']*'\.?)$"
)


@contextlib.contextmanager
def _without_registration_notices() -> Iterator[None]:
    """Hold back MLflow's registration notices; pass on everything else written to stderr."""
    held = io.StringIO()
    try:
        with contextlib.redirect_stderr(held):
            yield
    finally:
        for line in held.getvalue().splitlines(keepends=True):
            if not _REGISTRATION_NOTICES.match(line.rstrip("\n")):
                sys.stderr.write(line)


def _model_environment() -> dict[str, Any]:
    """The environment a registered version needs, given whole so MLflow need not guess it.

    Left to MLflow, it looks for pip in this environment (which uv builds without pip) and
    warns that it could not pin it.
    """
    import platform

    requirements = [f"{p}=={package_version(p)}" for p in ("mlflow", *_REQUIREMENTS)]
    return {
        "name": "installment-pd",
        "channels": ["conda-forge"],
        "dependencies": [f"python={platform.python_version()}", "pip", {"pip": requirements}],
    }


@dataclass(frozen=True)
class RegisteredVersion:
    """A registered version: its number, where MLflow keeps its files, and its tags."""

    version: str
    source: str
    tags: dict[str, str]


# MLflow marks a deleted version with this stage and keeps the row.
_DELETED_STAGE = "Deleted_Internal"


def _read_embedded_registry(
    ref: str, settings, model_name: str = MODEL_NAME
) -> RegisteredVersion | None | bool:
    """The version from the embedded SQLite registry read directly, without importing MLflow.

    Importing MLflow takes seconds; the commands that only ask which version an alias names
    (serving, replay, monitoring) read the three registry tables instead. Returns False when
    the registry is not an embedded SQLite file this reading understands (a tracking server,
    another MLflow schema, a workspace other than the default): the caller asks MLflow.
    ``tests/models/test_registry_end_to_end.py`` checks the answers against MLflow's own.
    """
    import sqlite3

    uri = str(settings.mlflow_tracking_uri)
    if not uri.startswith("sqlite:///") or os.environ.get("MLFLOW_WORKSPACE"):
        return False
    path = Path(uri.removeprefix("sqlite:///"))
    if not path.is_file():
        return False
    try:
        connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10)
    except sqlite3.Error:
        return False
    where = "workspace = 'default' AND name = ?"
    try:
        with connection:
            if ref.isdigit():
                version: object = ref
            else:
                row = connection.execute(
                    f"SELECT version FROM registered_model_aliases WHERE {where} AND alias = ?",
                    (model_name, ref),
                ).fetchone()
                if row is None:
                    return None
                version = row[0]
            row = connection.execute(
                f"SELECT version, source FROM model_versions WHERE {where} AND version = ? "
                "AND (current_stage IS NULL OR current_stage != ?)",
                (model_name, int(str(version)), _DELETED_STAGE),
            ).fetchone()
            if row is None:
                return None
            tags = connection.execute(
                f"SELECT key, value FROM model_version_tags WHERE {where} AND version = ?",
                (model_name, row[0]),
            ).fetchall()
    except sqlite3.Error:
        return False
    finally:
        connection.close()
    return RegisteredVersion(
        version=str(row[0]), source=str(row[1]), tags={str(k): str(v) for k, v in tags}
    )


def resolve_version(
    version_or_alias: str | int, *, settings=None, model_name: str = MODEL_NAME
) -> RegisteredVersion:
    """The registered version of ``model_name`` a version number or an alias names."""
    settings = _settings(settings)
    ref = str(version_or_alias)
    found = _read_embedded_registry(ref, settings, model_name)
    if found is False:
        found = _ask_mlflow(ref, settings, model_name)
    if not isinstance(found, RegisteredVersion):
        raise RegistryError(f"{model_name} has no version or alias {ref!r}")
    return found


def _ask_mlflow(ref: str, settings, model_name: str = MODEL_NAME) -> RegisteredVersion | None:
    client = mlflow_client(settings)
    try:
        if ref.isdigit():
            mv = client.get_model_version(model_name, ref)
        else:
            mv = client.get_model_version_by_alias(model_name, ref)
    except Exception:  # MLflow raises its own RestException subclasses
        return None
    return RegisteredVersion(version=str(mv.version), source=str(mv.source), tags=dict(mv.tags))


def load_model(version_or_alias: str | int, *, settings=None) -> ScoringModel:
    """Load a registered version (number or alias) as a plain :class:`ScoringModel`.

    A version's files are downloaded once into ``<home>/model-cache``; loading a cached
    version imports neither MLflow nor (for a scorecard) optbinning.
    """
    settings = _settings(settings)
    mv = resolve_version(version_or_alias, settings=settings)
    cache = settings.home / "model-cache" / MODEL_NAME / str(mv.version)
    model_dir = cache / "artifacts" / ARTIFACT_KEY
    if not model_dir.exists():
        import mlflow

        mlflow_client(settings)  # points MLflow at this home's tracking and registry store
        staging = Path(tempfile.mkdtemp(dir=settings.home))
        try:
            mlflow.artifacts.download_artifacts(artifact_uri=mv.source, dst_path=str(staging))
            found = next(staging.rglob(f"artifacts/{ARTIFACT_KEY}"), None)
            if found is None:
                raise RegistryError(f"{MODEL_NAME} version {mv.version} holds no scoring model")
            cache.mkdir(parents=True, exist_ok=True)
            # Move into place atomically so concurrent loaders never see half a folder.
            target = cache / "artifacts"
            shutil.rmtree(target, ignore_errors=True)
            os.replace(found.parent, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    model = ScoringModel.load(model_dir, version=str(mv.version))
    if model.kind == "scorecard" and not (model_dir / TABLES_FILE).exists():
        _cache_scorecard_tables(model, model_dir)
    return model


def _cache_scorecard_tables(model: ScoringModel, model_dir: Path) -> None:
    """Write the plain tables of a scorecard saved without them, so the next load is fast."""
    tables = WoeTables.of(model.estimator)
    if tables is None:  # categorical or special-coded bins: optbinning stays
        return
    staging = model_dir / f".{TABLES_FILE}.{os.getpid()}"
    tables.save(staging)
    os.replace(staging, model_dir / TABLES_FILE)


def load_champion(*, settings=None) -> ScoringModel:
    """The model behind the ``champion`` alias."""
    return load_model(CHAMPION, settings=settings)


def champion_version(*, settings=None, model_name: str = MODEL_NAME) -> str | None:
    """The version the ``champion`` alias points to now, or None (cheap: poll it)."""
    try:
        return str(resolve_version(CHAMPION, settings=settings, model_name=model_name).version)
    except RegistryError:
        return None


def set_alias(
    alias: str, version: str | int, *, settings=None, model_name: str = MODEL_NAME
) -> None:
    """Point an alias (``champion`` or ``challenger``) at a version of ``model_name``."""
    resolve_version(version, settings=settings, model_name=model_name)
    mlflow_client(settings).set_registered_model_alias(model_name, alias, str(version))


def version_tags(
    version_or_alias: str | int, *, settings=None, model_name: str = MODEL_NAME
) -> dict[str, str]:
    """Tags of a registered version (kind, contract, fingerprint, evaluation metrics)."""
    return dict(resolve_version(version_or_alias, settings=settings, model_name=model_name).tags)


def card_data(version_or_alias: str | int, *, settings=None) -> dict[str, Any] | None:
    """The segment and fairness tables training kept for a version's model card, or None
    (a version trained before the card carried them)."""
    from models.model_card import read_card_data

    version = resolve_version(version_or_alias, settings=settings)
    run_id = version.tags.get("run_id") or mlflow_client(settings).get_model_version(
        MODEL_NAME, version.version
    ).run_id
    return read_card_data(run_id, version.tags.get("kind", ""), settings=settings)


DEFAULT_GATES = Path(__file__).parent / "training" / "promotion_gates.yaml"


class PromotionRefused(ConflictError, RuntimeError):
    """A version failed a promotion gate; the message names the gate."""


@dataclass(frozen=True)
class GateResult:
    gate: str
    passed: bool
    detail: str
    # Attributes the fairness gate could not judge (fewer than two groups large enough); a
    # fairness gate failed only for these may be signed off by a person.
    unjudged: tuple[str, ...] = ()


def _metric(tags: dict[str, str], name: str) -> float | None:
    value = tags.get(name)
    return float(value) if value not in (None, "", "nan") else None


def _contract_gate(candidate: dict[str, str], gates: dict[str, Any], contract) -> GateResult:
    want = gates.get("contract_id")
    got = candidate.get("contract_id")
    if not got or (want is not None and got != want):
        return GateResult(
            "contract",
            False,
            f"validated against {got} {candidate.get('contract_version')}, required {want}",
        )
    features = [f for f in candidate.get("features", "").split(",") if f]
    if contract is not None:
        if not features:
            return GateResult("contract", False, "the version records no feature list")
        try:
            contract.check_model_features(features)
        except ValueError as refused:  # ForbiddenFeature names every offending field
            return GateResult("contract", False, str(refused))
    return GateResult(
        "contract",
        True,
        f"validated against {got} {candidate.get('contract_version')}; "
        f"{len(features)} features allowed by {want}",
    )


def _fairness_gate(candidate: dict[str, str], bounds: dict[str, Any]) -> GateResult:
    """Gaps within bounds on every attribute; an attribute with nothing judged fails.

    A gap is NaN when fewer than two groups were large enough to judge: that is "not enough
    data to judge", never a pass; promoting such a version needs a person's sign-off outside
    this gate (a larger evaluation, or a documented decision).
    """
    limits = bounds.get("max_gap", {})
    recorded = sorted(
        {k.split(".")[1] for k in candidate if k.startswith("fairness.") and k.endswith("_gap")}
    )
    attributes = bounds.get("attributes") or recorded
    over, judged, missing, unjudged = [], 0, [], []
    for attribute in attributes:
        judged_here = 0
        for metric, limit in limits.items():
            name = f"fairness.{attribute}.{metric}_gap"
            if name not in candidate:
                missing.append(name)
                continue
            value = _metric(candidate, name)
            if value is None:  # no two groups large enough to judge
                continue
            judged += 1
            judged_here += 1
            if value > float(limit):
                over.append(f"{attribute} {metric} gap {value:.4f} above {limit}")
        if judged_here == 0 and not any(m.startswith(f"fairness.{attribute}.") for m in missing):
            unjudged.append(attribute)
    if missing or not attributes:
        first = missing[0] if missing else "no protected attribute"
        return GateResult(
            "fairness",
            False,
            f"no fairness figures recorded ({first}, ...): train with "
            "protected attributes kept aside",
        )
    if over:
        return GateResult("fairness", False, "; ".join(over))
    if unjudged:
        return GateResult(
            "fairness",
            False,
            f"not enough data to judge fairness on {', '.join(unjudged)} (fewer than two "
            "groups large enough): a person must review the group tables and sign off",
            unjudged=tuple(unjudged),
        )
    return GateResult("fairness", True, f"{judged} group gaps within bounds {dict(limits)}")


def evaluate_gates(
    candidate: dict[str, str],
    champion: dict[str, str] | None,
    gates: dict[str, Any],
    *,
    contract=None,
) -> list[GateResult]:
    """Check a candidate's recorded evaluation against the declared gates.

    With ``contract`` the version's feature list is checked against it too, so a model that
    uses a field the contract forbids is refused even if it was registered by other means.
    """
    results = [_contract_gate(candidate, gates, contract)]
    ece = _metric(candidate, "ece")
    bound = float(gates["max_ece"])
    results.append(
        GateResult(
            "calibration", ece is not None and ece <= bound, f"ECE {ece} against bound {bound}"
        )
    )
    truth_ece = _metric(candidate, "truth_ece")
    if truth_ece is not None and "max_truth_ece" in gates:
        bound = float(gates["max_truth_ece"])
        results.append(
            GateResult(
                "calibration_vs_truth",
                truth_ece <= bound,
                f"ECE against true PDs {truth_ece} against bound {bound}",
            )
        )
    gaps = [v for k, v in candidate.items() if k.endswith("_max_gap")]
    worst = max((float(v) for v in gaps), default=None)
    bound = float(gates["max_additivity_gap"])
    results.append(
        GateResult(
            "explanations_add_up",
            worst is not None and worst <= bound,
            f"largest additivity gap {worst} against bound {bound}",
        )
    )
    if gates.get("fairness"):
        results.append(_fairness_gate(candidate, gates["fairness"]))
    if gates.get("auc_not_below_champion_ci") and champion is not None:
        auc = _metric(candidate, "auc")
        floor = _metric(champion, "auc_ci_low")
        results.append(
            GateResult(
                "auc_vs_champion",
                auc is not None and floor is not None and auc >= floor,
                f"AUC {auc} against the champion's lower 95 % bound {floor}",
            )
        )
    return results


def _read_gates(gates_file: Path) -> dict[str, Any]:
    import yaml

    gates = yaml.safe_load(Path(gates_file).read_text())
    if not isinstance(gates, dict) or "max_ece" not in gates:
        raise ValueError(f"gates file {gates_file} lacks the declared bounds (max_ece, ...)")
    return gates


def gates_for(
    *,
    model_name: str = MODEL_NAME,
    gates_file: Path | None = None,
    contract_file: Path | None = None,
) -> tuple[dict[str, Any], Any]:
    """The declared gates and the contract a version of ``model_name`` is judged against.

    The product's model is judged against its own ``training_snapshot`` contract. A user's
    model is judged against the user's contract, wherever that file lives: ``contract_file``
    (``--contract``), or ``contract:`` in the gates file (a path relative to that file). The
    fairness gate then covers the attributes that contract keeps aside (``modelUse:
    protected``), or whichever the version recorded, not the product's three.
    """
    from data_contracts.loader import load_contract
    from models.training.train import PRODUCT_CONTRACT

    path = Path(gates_file) if gates_file is not None else DEFAULT_GATES
    gates = _read_gates(path)
    contract_path = contract_file
    if contract_path is None and gates.get("contract"):
        contract_path = path.parent / str(gates["contract"])
    contract = None
    if contract_path is not None:
        contract_path = Path(contract_path)
        if not contract_path.is_file():
            raise ValueError(f"contract file {contract_path} not found")
        contract = load_contract(contract_path)
        gates["contract_id"] = str(contract.id)
    own = model_name == MODEL_NAME
    if own and gates.get("contract_id") not in (None, PRODUCT_CONTRACT):
        raise ValueError(
            f"{MODEL_NAME} is the production model: its versions are judged against the "
            f"{PRODUCT_CONTRACT} contract, not {gates.get('contract_id')}"
        )
    if not own and gates.get("contract_id") == PRODUCT_CONTRACT:
        raise ValueError(
            f"{model_name} is not the production model: give the contract it was trained on "
            "(--contract PATH, or contract: in the gates file) so its gates use that contract"
        )
    if contract is None and gates.get("contract_id"):
        contract = load_contract(gates["contract_id"])
    if not own and isinstance(gates.get("fairness"), dict) and contract_path is not None:
        declared = contract.protected_attributes() if contract is not None else []
        gates["fairness"] = dict(gates["fairness"], attributes=declared or None)
    return gates, contract


def check_gates(
    version: str | int,
    *,
    champion: str | int | None,
    gates_file: Path | None = None,
    compare_with_champion: bool = True,
    settings=None,
    model_name: str = MODEL_NAME,
    contract_file: Path | None = None,
) -> list[GateResult]:
    """Every declared gate's result for ``version`` of ``model_name`` against ``champion``.

    ``compare_with_champion=False`` leaves out the gates that compare with the champion
    ("AUC vs champion"): a rollback to a version approved before is not measured against
    the version it replaces.
    """
    gates, contract = gates_for(
        model_name=model_name, gates_file=gates_file, contract_file=contract_file
    )
    if not compare_with_champion:
        gates = {k: v for k, v in gates.items() if k != "auc_not_below_champion_ci"}
    candidate = version_tags(version, settings=settings, model_name=model_name)
    champion_tags = None
    if champion is not None and str(champion) != str(version):
        champion_tags = version_tags(champion, settings=settings, model_name=model_name)
    return evaluate_gates(candidate, champion_tags, gates, contract=contract)


def promote(
    version: str | int,
    *,
    alias: str = CHAMPION,
    gates_file: Path | None = None,
    settings=None,
    model_name: str = MODEL_NAME,
    contract_file: Path | None = None,
) -> list[GateResult]:
    """Point ``alias`` at ``version`` when every gate passes, else raise PromotionRefused.

    This moves the registry's alias only; the API serves the champion whose promotion the
    product recorded (``installment promote`` proposes, a second person approves).
    """
    results = check_gates(
        version, champion=champion_version(settings=settings, model_name=model_name),
        gates_file=gates_file, settings=settings, model_name=model_name,
        contract_file=contract_file,
    )  # fmt: skip
    refuse_failed(version, alias, results)
    set_alias(alias, version, settings=settings, model_name=model_name)
    return results


def refuse_failed(version: str | int, alias: str, results: list[GateResult]) -> None:
    """Raise ``PromotionRefused`` naming every failed gate, if any failed."""
    failed = [r for r in results if not r.passed]
    if failed:
        raise PromotionRefused(
            f"version {version} not promoted to {alias}: "
            + "; ".join(f"gate {r.gate} failed ({r.detail})" for r in failed)
        )
