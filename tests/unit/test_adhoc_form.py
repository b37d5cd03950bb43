"""The ad-hoc form's free-text fields: any label / scenario the grammar takes, one line per bad value,
never a silent default."""

import pytest

from frontier.domain.adhoc import DEFAULTS, parse_labels, parse_ladder, parse_scenarios, spec_from_params
from frontier.domain.spec import SpecError


def test_free_values_the_grammar_takes_are_accepted_as_text_or_lists():
    assert parse_labels("TP16, 2xTEP4+1xDEP8\nDEP8") == ["TP16", "2xTEP4+1xDEP8", "DEP8"]
    assert parse_labels(["TP16"]) == ["TP16"]
    assert parse_scenarios("1k1k, short:1024:128") == [
        {"name": "1k1k", "isl": 1024, "osl": 1024},
        {"name": "short", "isl": 1024, "osl": 128},
    ]
    assert parse_ladder("1, 4,16 ,64") == [1, 4, 16, 64] == parse_ladder([1, 4, 16, 64])
    spec = spec_from_params(
        {
            "model": "deepseek-ai/DeepSeek-R1",
            "hardware": "h200_sxm",
            "labels": "TP16, 2xTEP4+1xDEP8",
            "scenarios": "short:1024:128",
            "concurrencies": "2, 8",
        }
    )
    assert spec.matrix[0].labels == ["TP16", "2xTEP4+1xDEP8"] and spec.concurrencies == [2, 8]
    assert [s.name for s in spec.scenarios] == ["short"]


def test_one_line_per_bad_value_each_naming_the_field():
    with pytest.raises(SpecError) as e:
        parse_labels("TP0, TP8, XYZ4, TP8")
    lines = str(e.value).splitlines()
    assert len(lines) == 3 and all(line.startswith("labels: ") for line in lines)
    assert "'TP0'" in lines[0] and "'XYZ4'" in lines[1] and "repeats" in lines[2]
    with pytest.raises(SpecError) as e:
        parse_ladder("1, four, 0, 2.5")
    lines = str(e.value).splitlines()
    assert [ln.split(":", 1)[0] for ln in lines] == ["concurrencies"] * 3
    assert (
        "'four' is not an integer" in lines[0] and "'0' is not a positive" in lines[1] and "'2.5'" in lines[2]
    )
    with pytest.raises(SpecError, match=r"^concurrencies: values must be ascending .* write 1, 4$"):
        parse_ladder("4, 1")
    with pytest.raises(SpecError, match=r"^scenarios: 'huge' is neither"):
        parse_scenarios("1k1k, huge")


@pytest.mark.parametrize("field", ["labels", "scenarios", "concurrencies"])
@pytest.mark.parametrize("empty", ["", " , ", None, []])
def test_an_emptied_field_is_an_error_not_the_default(field, empty):
    with pytest.raises(SpecError, match=rf"^{field}: give at least one"):
        spec_from_params({field: empty})


@pytest.mark.parametrize("field", ["min_prompts", "num_prompts_multiplier", "sim_time_scale"])
def test_an_emptied_number_is_an_error_not_the_default(field):
    with pytest.raises(SpecError, match=rf"^{field}: is empty"):
        spec_from_params({field: None})
    assert spec_from_params({}).load.min_prompts == DEFAULTS["min_prompts"]  # absent = the form's default
