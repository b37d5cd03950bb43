"""
### frontier_adhoc

A one-off benchmark from a form: **Trigger** (the play button) shows typed fields; pick a
model, the hardware, deployment labels, scenarios, a concurrency ladder, the engine and target,
and run. Manual only (no schedule).

The `plan` task builds a sweep spec from the form (`frontier.domain.adhoc.spec_from_params`) and
checks it like any spec file: a bad label, a dense model with `DEP8`, a descending ladder or a
missing endpoint URL fails `plan` at once with one line naming the field. Then the same tasks as
`nightly_frontier`: `benchmark` (one mapped task per deployment x scenario, named `TP2 / 1k1k`,
per-point progress in its log, in the hardware's GPU pool), `marts` (emits the
`frontier_marts` asset), `publish` (the site), `report` (failed points, regressions).

Results land in the same warehouse as the nightly runs, under this DAG run's id; the site's
run archive shows them next to the nights.
"""

from __future__ import annotations

import datetime as dt

from airflow.sdk import DAG, Param

from frontier.domain.adhoc import DEFAULTS, LABEL_PATTERN, SCENARIO_PATTERN, form_choices
from operators.notify import on_run_failure
from operators.wiring import benchmark_chain

CHOICES = form_choices()  # from the catalogs' YAML shipped in the package (milliseconds)

with DAG(
    dag_id="frontier_adhoc",
    description="Ad-hoc SGLang frontier from a form: pick model, hardware, labels, scenarios, ladder",
    doc_md=__doc__,
    schedule=None,
    allowed_run_types=["manual"],
    start_date=dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    catchup=False,
    max_active_runs=2,
    dagrun_timeout=dt.timedelta(hours=8),
    tags=["frontier", "benchmark", "sglang", "adhoc"],
    default_args={"owner": "frontier", "retries": 0},
    on_failure_callback=on_run_failure,
    params={
        "model": Param(
            DEFAULTS["model"],
            type="string",
            enum=CHOICES["model"],
            title="Model",
            description="A model of the catalog (frontier/domain/catalog/models.yaml).",
        ),
        "hardware": Param(
            DEFAULTS["hardware"],
            type="string",
            enum=CHOICES["hardware"],
            title="Hardware",
            description="The GPU kind (frontier/domain/catalog/hardware.yaml); its pool is frontier_gpu_<kind>.",
        ),
        "precision": Param(
            DEFAULTS["precision"],
            type="string",
            enum=CHOICES["precision"],
            title="Precision",
            description="Weights and KV-cache precision.",
        ),
        "labels": Param(
            DEFAULTS["labels"],
            type="array",
            minItems=1,
            uniqueItems=True,
            items={"type": "string", "pattern": LABEL_PATTERN},
            examples=["TP1", "TP2", "TP4", "TP8", "DP8", "TEP8", "DEP8", "SEP4+1xDEP8", "DEP4+1xDEP8"],
            title="Deployment labels",
            description="One per line: MODE+GPUS, or PREFILL+NxDECODE for PD disaggregation, e.g. TP8, "
            "DEP8, SEP4+1xDEP8 (modes TP DP TEP DEP EP DPAEP DPATP SEP; expert-parallel "
            "modes need a MoE model).",
        ),
        "scenarios": Param(
            DEFAULTS["scenarios"],
            type="array",
            minItems=1,
            uniqueItems=True,
            items={"type": "string", "pattern": SCENARIO_PATTERN},
            examples=["1k1k", "1k8k", "8k1k"],
            title="Scenarios (ISL/OSL)",
            description="1k1k = 1024 in / 1024 out tokens, 8k1k, 1k8k, ...; or custom NAME:ISL:OSL "
            "such as short:1024:128.",
        ),
        "concurrencies": Param(
            DEFAULTS["concurrencies"],
            type="array",
            minItems=1,
            uniqueItems=True,
            items={"type": "integer", "minimum": 1},
            title="Concurrency ladder",
            description="Max concurrent requests per point, ascending, e.g. 1, 4, 16, 64, 256.",
        ),
        "engine": Param(
            DEFAULTS["engine"],
            type="string",
            enum=CHOICES["engine"],
            title="Engine",
            description="sim = simulated SGLang (runs anywhere); sglang = real servers on GPUs; "
            "endpoint = an already running server at Base URL; predict = every point predicted in "
            "virtual time (seconds, no GPU; marked predicted everywhere).",
        ),
        "adaptive": Param(
            DEFAULTS["adaptive"],
            type="boolean",
            title="Adaptive ladder",
            description="Skip points predicted to be dominated, stop labels that fell off the frontier, "
            "refine where it bends; every skipped point is recorded with its reason.",
        ),
        "target": Param(
            DEFAULTS["target"],
            type="string",
            enum=CHOICES["target"],
            title="Target",
            description="Where servers start: local, ssh (nodes from the spec's cluster options) or kubernetes.",
        ),
        "base_url": Param(
            DEFAULTS["base_url"],
            type=["null", "string"],
            title="Endpoint base URL",
            description="Only with engine = endpoint, e.g. http://10.0.0.5:30000.",
        ),
        "served_model_name": Param(
            DEFAULTS["served_model_name"],
            type=["null", "string"],
            title="Served model name",
            description="Only with engine = endpoint: the model name the server serves (default: the model id).",
        ),
        "tokenizer": Param(
            DEFAULTS["tokenizer"],
            type=["null", "string"],
            section="Advanced",
            title="Tokenizer",
            description="The served model's tokenizer for exact prompt lengths: a path on the worker, a model"
            " id in its local Hugging Face cache, or `words`. Default: `words` on sim, else the model id.",
        ),
        "num_prompts_multiplier": Param(
            DEFAULTS["num_prompts_multiplier"],
            type="integer",
            minimum=1,
            section="Advanced",
            title="Prompts per concurrency",
            description="num_prompts = this x concurrency (at least Min prompts).",
        ),
        "min_prompts": Param(
            DEFAULTS["min_prompts"],
            type="integer",
            minimum=1,
            section="Advanced",
            title="Min prompts",
            description="Smallest number of measured prompts per point.",
        ),
        "sim_time_scale": Param(
            DEFAULTS["sim_time_scale"],
            type="number",
            exclusiveMinimum=0,
            section="Advanced",
            title="Sim time scale",
            description="engine = sim only: >1 runs the simulated clock faster.",
        ),
    },
) as dag:
    benchmark_chain(from_params=True, deployment_timeout=dt.timedelta(hours=2))
