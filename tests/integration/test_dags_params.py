"""frontier_adhoc's form: Airflow's Param validation and spec_from_params reject bad input clearly;
GPU pools, the report and the failure callback, without running a DAG."""

import copy

import pytest

from frontier.domain.adhoc import DEFAULTS, spec_from_params
from frontier.domain.spec import SpecError

GOOD = {
    "model": "deepseek-ai/DeepSeek-R1",
    "hardware": "h200_sxm",
    "labels": ["TP8", "SEP4+1xDEP8"],
    "scenarios": ["1k1k", "short:1024:128"],
    "concurrencies": [1, 4],
    "engine": "sim",
}


def test_spec_from_params_builds_a_valid_spec():
    spec = spec_from_params(GOOD)
    assert spec.matrix[0].labels == ["TP8", "SEP4+1xDEP8"]
    assert [(s.name, s.isl, s.osl) for s in spec.scenarios] == [("1k1k", 1024, 1024), ("short", 1024, 128)]
    assert spec.concurrencies == [1, 4] and spec.engine == "sim"
    assert spec_from_params({}).matrix[0].model == DEFAULTS["model"]


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"labels": ["TP0"]}, r"^labels: label 'TP0'"),
        ({"labels": ["XYZ8"]}, r"^labels: .*modes are"),
        ({"labels": []}, r"^labels: give at least one"),
        ({"labels": ["TP8", "TP8"]}, r"^labels: 'TP8' repeats"),
        ({"model": "meta-llama/Llama-3.1-8B-Instruct", "labels": ["DEP8"]}, r"^labels: .*needs a MoE model"),
        ({"model": "gpt-5"}, r"^model: unknown model 'gpt-5'"),
        ({"hardware": "tpu"}, r"^hardware: 'tpu' is not one of"),
        ({"concurrencies": [4, 1]}, r"^concurrencies: .*ascending"),
        ({"concurrencies": [0]}, r"^concurrencies: .*positive"),
        ({"scenarios": ["huge"]}, r"^scenarios: 'huge' is neither"),
        ({"scenarios": ["1k1k", "1k1k"]}, r"^scenarios: .*repeat"),
        ({"engine": "endpoint"}, r"^base_url: engine 'endpoint' needs"),
        ({"engine": "endpoint", "base_url": "ftp://x"}, r"^base_url: 'ftp://x' is not an http"),
        ({"base_url": "http://10.0.0.5:30000"}, r"^base_url: only used with engine 'endpoint'"),
        ({"engine": "vllm"}, r"^engine: 'vllm' is not one of"),
    ],
)
def test_spec_from_params_rejects_bad_input_naming_the_param(bad, message):
    with pytest.raises(SpecError, match=message):
        spec_from_params({**GOOD, **bad})


def _adhoc_dag():
    pytest.importorskip("airflow")
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    root = Path(__file__).resolve().parents[2]
    return DagBag(dag_folder=str(root / "dags")).dags["frontier_adhoc"]


def _validate(dag, conf):
    """What a trigger does with the form's conf: merge into the DAG's Params, validate each."""
    params = copy.deepcopy(dag.params)
    params.update(conf)  # __setitem__ validates each value against its Param's JSON schema
    return params.validate()


def test_airflow_param_validation_accepts_the_defaults_and_a_good_form():
    dag = _adhoc_dag()
    assert _validate(dag, {})["labels"] == DEFAULTS["labels"]
    assert _validate(dag, GOOD)["hardware"] == "h200_sxm"


@pytest.mark.parametrize(
    "bad, field",
    [
        ({"labels": ["TP0"]}, "labels"),
        ({"labels": ["tp8"]}, "labels"),
        ({"labels": []}, "labels"),
        ({"labels": ""}, "labels"),
        ({"concurrencies": "1, x"}, "concurrencies"),
        ({"concurrencies": "4, 1"}, "concurrencies"),
        ({"model": "gpt-5"}, "model"),
        ({"precision": "int4"}, "precision"),
        ({"concurrencies": [0]}, "concurrencies"),
        ({"concurrencies": ["four"]}, "concurrencies"),
        ({"scenarios": ["huge"]}, "scenarios"),
        ({"engine": "vllm"}, "engine"),
        ({"sim_time_scale": 0}, "sim_time_scale"),
    ],
)
def test_airflow_param_validation_rejects_bad_form_input(bad, field):
    from airflow.sdk.exceptions import ParamValidationError

    dag = _adhoc_dag()
    with pytest.raises(ParamValidationError, match=field):
        _validate(dag, {**GOOD, **bad})


def test_form_enums_come_from_the_catalogs():
    from frontier.domain import catalog

    dag = _adhoc_dag()
    assert dag.params.get_param("model").schema["enum"] == catalog.model_names()
    assert dag.params.get_param("hardware").schema["enum"] == catalog.hardware_names()
    assert dag.schedule is None if hasattr(dag, "schedule") else True


def test_form_offers_the_predict_engine_and_adaptive_ladders():
    dag = _adhoc_dag()
    assert "predict" in dag.params.get_param("engine").schema["enum"]
    assert dag.params.get_param("adaptive").schema["type"] == "boolean"
    values = _validate(dag, {**GOOD, "engine": "predict", "adaptive": True})
    spec = spec_from_params(values)
    assert spec.engine == "predict" and spec.adaptive
    assert not spec_from_params({**GOOD}).adaptive
    with pytest.raises(SpecError, match="^adaptive: expected true or false"):
        spec_from_params({**GOOD, "adaptive": "yes"})


def test_pools_one_per_hardware_slots_are_gpus():
    from pathlib import Path

    from frontier.domain.spec import load_spec
    from frontier.planning import pools

    root = Path(__file__).resolve().parents[2]
    nightly = pools.pools_for_spec(load_spec(root / "sweeps/nightly.yaml"))
    assert [(p.name, p.slots) for p in nightly] == [
        ("frontier_gpu_b200_sxm", 16),
        ("frontier_gpu_gb200", 16),
        ("frontier_gpu_h200_sxm", 16),
    ]
    smoke = pools.pools_for_spec(load_spec(root / "sweeps/smoke.yaml"))  # no inventory: largest label
    assert [(p.name, p.slots) for p in smoke] == [("frontier_gpu_h100_sxm", 2), ("frontier_gpu_h200_sxm", 8)]
    merged = pools.merge([nightly, smoke])
    assert [(p.name, p.slots) for p in merged] == [
        ("frontier_gpu_b200_sxm", 16),
        ("frontier_gpu_gb200", 16),
        ("frontier_gpu_h100_sxm", 2),
        ("frontier_gpu_h200_sxm", 16),
    ]
    assert pools.slots_for(12, 16) == 12 and pools.slots_for(32, 16) == 16
    spec = spec_from_params(GOOD)
    assert [(p.name, p.slots) for p in pools.pools_for_spec(spec)] == [("frontier_gpu_h200_sxm", 12)]


def test_pools_cli_dry_run_prints_airflow_import_json(capsys):
    import json

    from frontier.cli.pools import main

    assert main(["sync", "sweeps/smoke.yaml", "--dry-run"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["frontier_gpu_h100_sxm"]["slots"] == 2


def test_report_markdown_names_failures_and_regressions():
    from frontier.analysis.report import RunReport

    r = RunReport(
        "r1",
        "partial",
        failures=[
            {
                "label": "DEP8",
                "scenario": "8k1k",
                "model": "m",
                "hardware": "h",
                "max_concurrency": 64,
                "stage": "point",
                "reason": "5 of 20 failed",
            }
        ],
        regressions=[
            {
                "label": "TP8",
                "scenario": "1k1k",
                "model": "m",
                "hardware": "h",
                "metric": "band_50",
                "before": 1000.0,
                "after": 800.0,
                "change_pct": -20.0,
            }
        ],
    )
    assert not r.ok
    assert "1 failure(s) in DEP8 / 8k1k" in r.headline() and "TP8 h 1k1k -20.0%" in r.headline()
    md = r.markdown()
    assert "| DEP8 | 8k1k | m | h | 64 | point | 5 of 20 failed |" in md and "-20.0%" in md
    assert RunReport("r2", "success").ok


def test_failure_callback_logs_and_skips_missing_providers(monkeypatch, caplog):
    pytest.importorskip("airflow")
    from operators import notify

    monkeypatch.setenv("FRONTIER_NOTIFY", "log,slack:frontier_slack,bogus")
    ctx = {"run_id": "manual__x", "reason": "task_failure", "dag_run": None}
    with caplog.at_level("WARNING", logger="frontier.notify"):
        notify.on_run_failure(ctx)
    text = caplog.text
    assert "run manual__x failed" in text
    assert "unknown notifier 'bogus'" in text


def test_failure_summary_carries_the_plan_failure_cause(tmp_path):
    pytest.importorskip("airflow")
    from frontier.analysis.report import plan_failure_report, write_report
    from operators import notify

    cause = "invalid input: labels: label 'DEP8': DEP needs a MoE model"
    write_report(plan_failure_report("manual__y", cause), tmp_path / "manual__y")
    ctx = {
        "run_id": "manual__y",
        "reason": "task_failure",
        "dag_run": None,
        "params": {"artifacts": str(tmp_path)},
    }
    text = notify.summary(ctx)
    assert text.endswith(f"run manual__y: failed; planning failed: {cause}"), text
    assert not plan_failure_report("r", cause).ok and "## Cause" in plan_failure_report("r", cause).markdown()


def _serialized_adhoc():
    """The DAG as the API server holds it (serialized): its Params validate a trigger's conf."""
    from airflow.serialization.serialized_objects import DagSerialization

    return DagSerialization.from_dict(DagSerialization.to_dict(_adhoc_dag()))


@pytest.mark.parametrize(
    "conf",
    [
        {"labels": "TP16, 2xTEP4+1xDEP8", "scenarios": "short:1024:128", "concurrencies": "1, 4, 16"},
        {"labels": ["TP16"], "scenarios": ["1k1k"], "concurrencies": [1, 4]},  # REST clients' lists
    ],
)
def test_any_label_the_grammar_takes_passes_the_api_servers_validation(conf):
    import operators.form_checks  # noqa: F401  what airflow_local_settings.py imports in the API server

    params = _serialized_adhoc().params.deep_merge({**GOOD, **conf}).validate()
    assert params["labels"] == conf["labels"]


def test_the_api_server_refuses_a_bad_value_with_one_readable_line_per_value():
    from airflow.exceptions import ParamValidationError

    import operators.form_checks  # noqa: F401

    dag = _serialized_adhoc()
    with pytest.raises(ParamValidationError) as e:
        dag.params.deep_merge({**GOOD, "labels": "TP0, TP8, XYZ4"}).validate()
    lines = str(e.value).splitlines()
    assert lines[0].startswith("Invalid input for param labels: label 'TP0': 'TP0' is not MODE+GPUS")
    assert lines[1].startswith("label 'XYZ4': 'XYZ4' is not MODE+GPUS") and len(lines) == 2
    assert "Failed validating" not in str(e.value) and "^(?:" not in str(e.value)
    with pytest.raises(ParamValidationError, match=r"^Invalid input for param concurrencies: values must be"):
        dag.params.deep_merge({**GOOD, "concurrencies": "16, 4"}).validate()


def test_nightly_ladder_is_text_and_narrows_the_spec():
    from pathlib import Path

    from airflow.dag_processing.dagbag import DagBag

    root = Path(__file__).resolve().parents[2]
    dag = DagBag(dag_folder=str(root / "dags")).dags["nightly_frontier"]
    schema = dag.params.get_param("concurrencies").schema
    assert "string" in schema["type"] and schema["format"] == "frontier-ladder-or-empty"
    from operators.frontier_ops import PlanSweepOperator

    op = dag.task_dict["plan"]
    assert isinstance(op, PlanSweepOperator)
    spec = op._spec({"spec": "sweeps/smoke.yaml", "concurrencies": "2, 8", "labels": ["TP1"]})
    assert spec.concurrencies == [2, 8] and [m.labels for m in spec.matrix] == [["TP1"]]
    assert op._spec({"spec": "sweeps/smoke.yaml", "concurrencies": ""}).concurrencies != []
