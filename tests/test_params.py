"""Parameter reading and validation: everything here runs before (and without) any kernel."""

from __future__ import annotations

from pathlib import Path

import pytest

from shopcast.exceptions import ParameterError
from shopcast.notebooks import SCHEMAS, schema_class
from shopcast.workbench.params import (
    COMMAND_LINE,
    load_params_file,
    notebook_parameters,
    parse_cli_param,
    validate,
)

FIXTURES = Path(__file__).parent / "notebooks"
SIMPLE = FIXTURES / "simple.ipynb"


def test_defaults_read_from_the_parameters_cell():
    params = notebook_parameters(SIMPLE)
    assert {p: v.default for p, v in params.items()} == {
        "n": 10,
        "scale": 2.5,
        "label": "demo",
        "start": "2023-01-01",
    }
    assert params["n"].help == "how many values to sum"


def test_overrides_merge_over_defaults_and_remember_their_origin():
    resolved = validate(SIMPLE, [("a.yaml", {"n": 3}), (COMMAND_LINE, {"label": "x"})])
    assert resolved.values == {"n": 3, "scale": 2.5, "label": "x", "start": "2023-01-01"}
    assert resolved.overrides == {"n": 3, "label": "x"}
    assert resolved.origins["n"] == "a.yaml"


def test_unknown_key_names_file_known_keys_and_closest_match():
    with pytest.raises(
        ParameterError,
        match=r'scen\.yaml: parameter "scal".*known: label, n, '
        r'scale, start.*Did you mean "scale"',
    ) as info:
        validate(SIMPLE, [("scen.yaml", {"scal": 2})])
    assert info.value.field == "scal" and info.value.file == "scen.yaml"


def test_wrong_type_names_key_value_and_what_is_allowed():
    with pytest.raises(ParameterError, match=r'parameter "n" = \'ten\'.*valid integer'):
        validate(SIMPLE, [("f.yaml", {"n": "ten"})])
    with pytest.raises(ParameterError, match=r'"n" = 2.5.*integer'):
        validate(SIMPLE, [("f.yaml", {"n": 2.5})])


def test_int_is_accepted_for_a_float_parameter():
    assert validate(SIMPLE, [("f.yaml", {"scale": 3})]).values["scale"] == 3


def test_params_file_must_be_flat_yaml(tmp_path):
    bad = tmp_path / "nested.yaml"
    bad.write_text("a:\n  b: 1\n")
    with pytest.raises(ParameterError, match=r"nested\.yaml.*flat"):
        load_params_file(bad)
    broken = tmp_path / "broken.yaml"
    broken.write_text("a: [1, 2\n")
    with pytest.raises(ParameterError, match=r"broken\.yaml.*invalid YAML at line"):
        load_params_file(broken)
    with pytest.raises(ParameterError, match="an existing YAML file"):
        load_params_file(tmp_path / "missing.yaml")


def test_unquoted_date_in_a_file_is_refused_with_the_fix(tmp_path):
    f = tmp_path / "dates.yaml"
    f.write_text("start: 2023-01-01\n")
    with pytest.raises(ParameterError, match=r'start: "2023-01-01"'):
        load_params_file(f)
    f.write_text('start: "2023-01-01"\n')
    assert load_params_file(f) == {"start": "2023-01-01"}


def test_yaml_safe_loading_refuses_python_objects(tmp_path):
    f = tmp_path / "evil.yaml"
    f.write_text("n: !!python/object/apply:os.system ['echo hacked']\n")
    with pytest.raises(ParameterError, match="invalid YAML"):
        load_params_file(f)


def test_cli_param_parsing():
    assert parse_cli_param("n=3") == ("n", 3)
    assert parse_cli_param("start=2023-02-01") == ("start", "2023-02-01")
    assert parse_cli_param("xs=[1, 2]") == ("xs", [1, 2])
    with pytest.raises(ParameterError, match="KEY=VALUE"):
        parse_cli_param("novalue")


def test_registered_schemas_match_their_notebooks():
    for stem in SCHEMAS:
        schema = schema_class(stem)
        notebook = Path(__file__).parents[1] / "notebooks" / f"{stem}.ipynb"
        assert notebook.is_file(), f"schema {schema.__name__} has no notebook {notebook}"
        assert set(schema.model_fields) == set(notebook_parameters(notebook)), stem


def test_every_committed_scenario_validates():
    root = Path(__file__).parents[1]
    files = sorted((root / "params").glob("*/*.yaml"))
    assert files, "no scenario files under params/"
    for f in files:
        notebook = root / "notebooks" / f"{f.parent.name}.ipynb"
        validate(notebook, [(str(f), load_params_file(f))])


def test_seller_schema_rules():
    nb = Path(__file__).parents[1] / "notebooks" / "seller_thresholds.ipynb"
    with pytest.raises(ParameterError, match="strictly increasing"):
        validate(nb, [("f.yaml", {"thresholds": [0, 100, 50]})])
    with pytest.raises(ParameterError, match=r"family.*one of 'lognormal'"):
        validate(nb, [("f.yaml", {"family": "weibull"})])
    with pytest.raises(ParameterError, match="review_months"):
        validate(nb, [("f.yaml", {"review_months": [30], "months": 24})])


def test_unparseable_parameter_line_is_refused(tmp_path):
    import nbformat
    from nbformat.v4 import new_code_cell, new_notebook

    cell = new_code_cell("a = 1  # 0 = none\nb = 2  # fine\n")
    cell.metadata["tags"] = ["parameters"]
    path = tmp_path / "under.ipynb"
    nbformat.write(new_notebook(cells=[cell]), path)
    with pytest.raises(ParameterError, match=r"kernelspec.*Python \(shopcast\)"):
        notebook_parameters(path)
    kernel = {"name": "shopcast", "display_name": "Python (shopcast)", "language": "python"}
    nbformat.write(new_notebook(cells=[cell], metadata={"kernelspec": kernel}), path)
    with pytest.raises(ParameterError, match=r"\"a\".*keep .=. and quote characters out"):
        notebook_parameters(path)


def test_non_utf8_file_is_refused(tmp_path):
    f = tmp_path / "latin.yaml"
    f.write_bytes("# caf\xe9\nn: 3\n".encode("latin-1"))
    with pytest.raises(ParameterError, match=r"latin\.yaml.*not UTF-8 at byte 5"):
        load_params_file(f)


def test_missing_data_file_is_refused_before_the_kernel():
    nb = Path(__file__).parents[1] / "notebooks" / "gmv_goal_forecast.ipynb"
    with pytest.raises(ParameterError, match=r'"data_file" = .nope\.csv.*does not exist'):
        validate(nb, [(COMMAND_LINE, {"data_file": "nope.csv"})])


def test_combination_errors_name_only_the_fields_involved():
    nb = Path(__file__).parents[1] / "notebooks" / "threshold_vs_goal.ipynb"
    with pytest.raises(ParameterError) as info:
        validate(nb, [(COMMAND_LINE, {"horizon_months": 1})])
    assert set(info.value.value) == {"goal_end", "history_end", "horizon_months"}


def test_schemas_read_the_vocabularies_their_analyses_declare():
    # one source of truth: a name added to a vocabulary is accepted by the schema without a copy
    from typing import get_args

    from shopcast.gmv.regions import COVERAGES
    from shopcast.gmv.schema import GOAL_MODELS, GmvGoalForecastParams
    from shopcast.sellers.schema import SellerThresholdsParams
    from shopcast.sellers.vocabulary import DATA_FORMS, FAMILIES

    goal = GmvGoalForecastParams.model_fields
    assert get_args(goal["coverage"].annotation) == COVERAGES
    assert "indonesia" in get_args(goal["coverage"].annotation)
    assert get_args(goal["model"].annotation) == GOAL_MODELS
    seller = SellerThresholdsParams.model_fields
    assert get_args(seller["family"].annotation) == FAMILIES
    assert get_args(seller["data_form"].annotation) == DATA_FORMS


def test_the_workbench_imports_no_analysis_module():
    import subprocess
    import sys

    code = (
        "import sys, shopcast.workbench.cli, shopcast.workbench.batch, shopcast.workbench.gallery;"
        "bad = [m for m in sys.modules if m.startswith(('shopcast.gmv', 'shopcast.sellers',"
        " 'shopcast.forecasting', 'shopcast.charts'))]; print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
