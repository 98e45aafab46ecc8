"""Recipe loading: every problem reported at once as ``file:line key.path: message``.

Recipes are written into ``workdir/recipes`` and loaded by the relative path ``recipes/...`` (the
``workdir`` fixture makes the temporary directory the cwd), so the messages show that path.
"""

from __future__ import annotations

import hashlib
import textwrap
import traceback
from pathlib import Path

import pytest

from pipeline.core.errors import EXIT_RECIPE, AnonymizeError, Problem, RecipeError
from pipeline.recipe.loader import LoadedRecipe, StepCall, load_recipe
from pipeline.recipe.models import Recipe
from pipeline.recipe.refs import column_refs
from pipeline.steps import STEPS
from pipeline.steps.recode import RecodeParams
from pipeline.steps.sampling import ShuffleParams, SubsampleParams
from pipeline.steps.topcode import TopCodeParams
from tests.conftest import copy_demo, demo_recipe, write_recipe

RECIPE = "recipes/test.yaml"  # where write_recipe/demo_recipe put the file, relative to workdir

# Five lines; the first line after it is line 6.
HEADER = """\
version: 1
name: test
input: {path: data/census.csv}
output: {dir: out/run}
seed: 42
"""

DEMO_STEPS = """\
- recode: {column: municipality, hierarchy: jp_region, level: prefecture}
- recode: {column: age, bands: [0, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90]}
- recode: {column: occupation, hierarchy: hierarchies/occupation.csv, level: 1}
- top_code: {column: age, above: 90, replace_with: 90}
- top_code: {column: income, quantile: 0.995}
- top_code: {column: household_size, above: 8}
- subsample: {fraction: 0.8, by: household_id}
- shuffle_records: {}
"""

PUBLIC_STEPS = ", ".join(sorted(n for n, s in STEPS.items() if not s.automatic))
KEY_ENV = "ANON_TEST_LINK_KEY"


def recipe(workdir: Path, body: str) -> str:
    """Write HEADER + body to recipes/test.yaml and return the relative path."""
    write_recipe(workdir, HEADER + textwrap.dedent(body))
    return RECIPE


def failure(path: str | Path) -> RecipeError:
    with pytest.raises(RecipeError) as info:
        load_recipe(path)
    return info.value


def problems(path: str | Path) -> list[str]:
    """The rendered problems (``str(problem)``) of a recipe that must fail to load."""
    return [str(p) for p in failure(path).problems]


def valid_keys(model) -> str:
    return ", ".join(model.model_fields)


# --------------------------------------------------------------------------- valid recipes


def test_valid_recipe_loads_with_typed_step_calls(workdir):
    path = demo_recipe(workdir, DEMO_STEPS)
    loaded = load_recipe(RECIPE)

    assert isinstance(loaded, LoadedRecipe)
    assert loaded.path == Path(RECIPE)
    assert loaded.base_dir == Path("recipes")
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert isinstance(loaded.recipe, Recipe)
    assert loaded.recipe.seed == 42
    assert loaded.recipe.columns.linking_ids["member_id"].method == "drop"
    assert loaded.recipe.columns.linking_ids["household_id"].method == "surrogate"
    assert loaded.recipe.columns.removed() == [
        "name",
        "address",
        "phone",
        "email",
        "my_number",
        "drivers_licence",
        "member_id",
    ]

    calls = loaded.steps
    assert all(isinstance(c, StepCall) for c in calls)
    assert [c.index for c in calls] == list(range(8))
    assert [c.spec.name for c in calls] == [
        "recode",
        "recode",
        "recode",
        "top_code",
        "top_code",
        "top_code",
        "subsample",
        "shuffle_records",
    ]
    assert all(c.spec is STEPS[c.spec.name] for c in calls)
    assert [type(c.params) for c in calls] == [
        RecodeParams,
        RecodeParams,
        RecodeParams,
        TopCodeParams,
        TopCodeParams,
        TopCodeParams,
        SubsampleParams,
        ShuffleParams,
    ]
    assert calls[0].params.hierarchy == "jp_region"
    assert calls[0].params.level == "prefecture"
    assert calls[1].params.bands[-1] == 90.0
    assert calls[2].params.level == 1
    assert calls[3].params.above == 90.0
    assert calls[3].params.replace_with == 90.0
    assert calls[4].params.quantile == 0.995
    assert calls[4].params.above is None
    assert calls[6].params.by == "household_id"
    assert calls[6].params.adjust_weights is True
    # demo_recipe: `steps:` is line 13, so steps[i] is on line 14 + i
    assert [c.location for c in calls] == [
        f"{RECIPE}:{14 + i} steps[{i}].{c.spec.name}" for i, c in enumerate(calls)
    ]


def test_bundled_demo_recipe_loads(workdir):
    copy_demo(workdir)
    loaded = load_recipe("recipes/census_demo.yaml")
    assert loaded.recipe.name == "census_demo"
    assert [c.spec.name for c in loaded.steps][-2:] == ["local_suppression", "shuffle_records"]
    assert loaded.recipe.risk is not None and loaded.recipe.risk.k == 3
    assert loaded.steps[1].params.hierarchy == "hierarchies/occupation.csv"
    assert "generalize" in [c.spec.name for c in loaded.steps]


def test_step_without_parameters_may_be_written_empty(workdir):
    path = recipe(workdir, "steps:\n  - shuffle_records:\n  - shuffle_records: {}\n")
    calls = load_recipe(path).steps
    assert [type(c.params) for c in calls] == [ShuffleParams, ShuffleParams]


# --------------------------------------------------------------------------- many at once


def test_several_errors_are_all_reported_at_once_with_their_lines(workdir):
    write_recipe(
        workdir,
        """\
        version: 1
        name: test
        input:
          path: data/census.csv
          delimiter: 5
        output:
          dir: out/run
          fromat: csv
        seed: forty-two
        steps:
          - recode: {column: age, bands: [0, 15, 20]}
          - top_code:
              column: age
              above: ninety
          - top_code: {column: income, quantile: 0.99}
          - top_code: {column: income, abvoe: 100}
        """,
    )
    error = failure(RECIPE)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:5 input.delimiter: expected a text value",
        f"{RECIPE}:8 output.fromat: unknown key; did you mean 'format'? "
        "(valid keys: dir, format, encoding, rows_per_file, signing_key_env, database)",
        f"{RECIPE}:9 seed: expected an integer",
        f"{RECIPE}:14 steps[1].top_code.above: expected a number",
        f"{RECIPE}:16 steps[3].top_code.abvoe: unknown key; did you mean 'above'? "
        f"(valid keys: {valid_keys(TopCodeParams)})",
    ]
    rendered = error.render().splitlines()
    assert rendered[0] == "recipe error (5 problems):"
    assert rendered[1:] == [f"  {p}" for p in error.problems]
    assert str(error) == error.render()


def test_recipe_error_exit_code_is_2(workdir):
    error = failure(recipe(workdir, "steps:\n  - top_code: {column: age, above: high}\n"))
    assert isinstance(error, AnonymizeError)
    assert error.exit_code == EXIT_RECIPE == 2
    assert RecipeError.exit_code == 2


# --------------------------------------------------------------------------- did you mean


def test_unknown_step_suggests_the_closest_and_lists_valid_steps(workdir):
    path = recipe(workdir, "steps:\n  - top_cod: {column: age, above: 90}\n")
    error = failure(path)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:7 steps[0].top_cod: unknown step 'top_cod'; did you mean 'top_code'? "
        f"valid steps: {PUBLIC_STEPS}"
    ]
    assert error.problems[0].code == "unknown_step"
    assert "drop_identifiers" not in PUBLIC_STEPS and "top_code" in PUBLIC_STEPS


def test_unknown_step_without_close_match_has_no_suggestion(workdir):
    path = recipe(workdir, "steps:\n  - shuffle_records: {}\n  - frobnicate: {}\n")
    assert problems(path) == [
        f"{RECIPE}:8 steps[1].frobnicate: unknown step 'frobnicate'; valid steps: {PUBLIC_STEPS}"
    ]


def test_unknown_top_level_key_suggests_steps(workdir):
    path = recipe(workdir, "stpes:\n  - shuffle_records: {}\n")
    assert problems(path) == [
        f"{RECIPE}:6 stpes: unknown key; did you mean 'steps'? (valid keys: {valid_keys(Recipe)})"
    ]


def test_unknown_step_parameter_suggests_the_closest(workdir):
    path = recipe(
        workdir,
        """\
        steps:
          - top_code:
              column: age
              abvoe: 90
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:9 steps[0].top_code.abvoe: unknown key; did you mean 'above'? "
        f"(valid keys: {valid_keys(TopCodeParams)})"
    ]


def test_unknown_key_inside_a_linking_id(workdir):
    path = recipe(workdir, "columns:\n  linking_ids:\n    hh: {method: surrogate, key_evn: X}\n")
    assert problems(path) == [
        f"{RECIPE}:8 columns.linking_ids.hh.key_evn: unknown key; did you mean 'key_env'? "
        "(valid keys: method, key_env)"
    ]


# --------------------------------------------------------------------------- missing keys


def test_missing_top_level_key_points_at_the_recipe_mapping(workdir):
    write_recipe(
        workdir,
        """\
        # a comment and a blank line before the recipe mapping starts

        version: 1
        name: test
        input: {path: data/census.csv}
        output: {dir: out/run}
        """,
    )
    assert problems(RECIPE) == [f"{RECIPE}:3 seed: required key is missing"]


def test_missing_nested_key_points_at_its_parent(workdir):
    write_recipe(
        workdir,
        """\
        version: 1
        name: test
        input:
          format: csv
        output: {dir: out/run}
        seed: 1
        steps:
          - shuffle_records: {}
          - top_code:
              above: 90
        """,
    )
    assert problems(RECIPE) == [
        f"{RECIPE}:3 input.path: required key is missing (a file or folder; or format: sql)",
        f"{RECIPE}:9 steps[1].top_code.column: required key is missing",
    ]


# --------------------------------------------------------------------------- YAML level


def test_yaml_syntax_error_reports_its_line(workdir):
    write_recipe(
        workdir,
        """\
        version: 1
        name: test
        input: {path: data/census.csv}
        output:
          dir: out/run
           format: csv
        seed: 1
        """,
    )
    error = failure(RECIPE)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:6 YAML syntax error: mapping values are not allowed here"
    ]
    assert error.problems[0].code == "yaml"


def test_tab_indentation_is_a_syntax_error_at_its_line(workdir):
    write_recipe(workdir, HEADER + "columns:\n\tsensitive: [income]\n")
    assert len(problems(RECIPE)) == 1
    assert problems(RECIPE)[0].startswith(f"{RECIPE}:7 YAML syntax error: ")


@pytest.mark.parametrize(
    "tag", ["!!python/object/apply:os.system", "!!python/object/new:os.system"]
)
def test_python_tags_are_rejected_without_running_anything(workdir, tag):
    marker = workdir / "pwned"
    write_recipe(
        workdir,
        f"version: 1\nname: {tag} ['touch {marker}']\ninput: {{path: data/census.csv}}\n",
    )
    error = failure(RECIPE)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:2 YAML syntax error: "
        "tags such as !!python are not allowed in a recipe (plain data only)"
    ]
    assert not marker.exists()


TAGGED = "is not one (tags are not needed: write the value plainly)"
DATE = "YAML value error: a value YAML reads as a date is not one (quote it for text)"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("!!int SECRETTEN", f"YAML value error: a value tagged !!int {TAGGED}"),
        ("!!float SECRETX", f"YAML value error: a value tagged !!float {TAGGED}"),
        ("!!bool SECRETMAYBE", f"YAML value error: a value tagged !!bool {TAGGED}"),
        ("!!int", f"YAML value error: a value tagged !!int {TAGGED}"),
        ("2020-13-45", DATE),  # written plainly: YAML reads it as a date by its form
        ("!!timestamp 2020-13-45", DATE),
    ],
)
def test_a_value_its_tag_cannot_read_is_an_error_at_its_line(workdir, value, expected):
    # PyYAML's constructors raise ValueError, KeyError... for these: it was an unexpected error;
    # a value of another kind of problem before it (an undecodable !!binary) is passed over
    write_recipe(
        workdir,
        f"version: 1\nname: [!!binary a]\nseed: {value}\ninput: {{path: a.csv}}\n",
    )
    error = failure(RECIPE)
    assert [str(p) for p in error.problems] == [f"{RECIPE}:3 {expected}"]
    assert error.problems[0].code == "yaml"
    assert "SECRET" not in str(error.problems[0]) and "13-45" not in str(error.problems[0])


def test_duplicate_keys_are_errors_at_their_lines(workdir):
    path = recipe(
        workdir,
        """\
        seed: 43
        steps:
          - top_code: {column: age, above: 90, above: 80}
        """,
    )
    error = failure(path)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:6 duplicate key 'seed'",
        f"{RECIPE}:8 duplicate key 'above'",
    ]
    assert {p.code for p in error.problems} == {"yaml"}


def test_duplicate_keys_are_reported_with_validation_errors(workdir):
    path = recipe(workdir, "seed: 43\nsteps:\n  - top_code: {column: age, above: x}\n")
    assert problems(path) == [
        f"{RECIPE}:6 duplicate key 'seed'",
        f"{RECIPE}:8 steps[0].top_code.above: expected a number",
    ]


@pytest.mark.parametrize("text", ["- a\n- b\n", "", "just text\n"])
def test_recipe_that_is_not_a_mapping(workdir, text):
    write_recipe(workdir, text)
    assert problems(RECIPE) == [
        f"{RECIPE}:1: a recipe is a mapping with version, name, input, output, seed, columns, steps"
    ]


def test_recipe_file_not_found(workdir):
    error = failure("recipes/nope.yaml")
    assert error.problems == [
        Problem("recipe file recipes/nope.yaml not found", location="", code="not_found")
    ]
    assert str(error.problems[0]) == "recipe file recipes/nope.yaml not found"
    assert error.exit_code == 2


def test_recipe_file_not_utf8(workdir):
    (workdir / "recipes" / "test.yaml").write_bytes(HEADER.encode() + b"description: \xff\xfe\n")
    assert problems(RECIPE) == [f"{RECIPE}:6 the recipe is not UTF-8 text"]


# --------------------------------------------------------------------------- steps


@pytest.mark.parametrize("name", ["drop_identifiers", "linking_ids"])
def test_automatic_steps_cannot_be_listed(workdir, name):
    path = recipe(workdir, f"steps:\n  - shuffle_records: {{}}\n  - {name}: {{columns: [name]}}\n")
    assert problems(path) == [
        f"{RECIPE}:8 steps[1].{name}: {name} runs automatically from columns: and cannot be listed"
    ]


@pytest.mark.parametrize(
    "entry",
    [
        "- top_code\n",
        "- top_code: {column: age, above: 90}\n    recode: {column: age, map: {a: b}}\n",
    ],
)
def test_each_step_is_a_one_key_mapping(workdir, entry):
    path = recipe(workdir, "steps:\n  " + entry)
    assert problems(path) == [
        f"{RECIPE}:7 steps[0]: each step is a one-key mapping like "
        "`- top_code: {column: age, above: 90}`"
    ]


def test_recode_with_both_bands_and_map(workdir):
    path = recipe(workdir, "steps:\n  - recode: {column: age, bands: [0, 10], map: {a: b}}\n")
    assert problems(path) == [
        f"{RECIPE}:7 steps[0].recode: give exactly one of hierarchy, bands or map"
    ]


def test_recode_with_no_method(workdir):
    path = recipe(workdir, "steps:\n  - recode: {column: age}\n")
    assert problems(path) == [
        f"{RECIPE}:7 steps[0].recode: give exactly one of hierarchy, bands or map"
    ]


def test_recode_labels_must_match_bands(workdir):
    path = recipe(workdir, "steps:\n  - recode: {column: age, bands: [0, 20], labels: [young]}\n")
    assert problems(path) == [f"{RECIPE}:7 steps[0].recode: labels needs one label per band"]


@pytest.mark.parametrize("bands", ["[0, 20, 10]", "[0, 20, 20]"])
def test_bands_must_be_strictly_increasing(workdir, bands):
    path = recipe(
        workdir,
        f"""\
        steps:
          - recode:
              column: age
              bands: {bands}
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:9 steps[0].recode.bands: band edges must be strictly increasing"
    ]


def test_top_code_with_both_above_and_quantile(workdir):
    path = recipe(workdir, "steps:\n  - top_code: {column: age, above: 90, quantile: 0.99}\n")
    assert problems(path) == [
        f"{RECIPE}:7 steps[0].top_code: give exactly one of above or quantile"
    ]


def test_top_code_with_neither_above_nor_quantile(workdir):
    path = recipe(workdir, "steps:\n  - top_code: {column: age}\n")
    assert problems(path) == [
        f"{RECIPE}:7 steps[0].top_code: give exactly one of above or quantile"
    ]


def test_top_code_quantile_out_of_range(workdir):
    path = recipe(
        workdir,
        """\
        steps:
          - top_code:
              column: income
              quantile: 1.5
        """,
    )
    assert problems(path) == [f"{RECIPE}:9 steps[0].top_code.quantile: input should be less than 1"]


def test_hierarchy_file_not_found(workdir):
    path = recipe(
        workdir,
        """\
        steps:
          - recode:
              column: occupation
              hierarchy: hierarchies/missing.csv
              level: 1
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:9 steps[0].recode.hierarchy: "
        "hierarchy file recipes/hierarchies/missing.csv not found"
    ]


def test_hierarchy_level_out_of_range(workdir):
    path = recipe(
        workdir,
        """\
        steps:
          - recode:
              column: occupation
              hierarchy: hierarchies/occupation.csv
              level: 5
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:10 steps[0].recode.level: level must be between 0 and 2 for occupation.csv"
    ]


def test_jp_region_unknown_level_name(workdir):
    path = recipe(
        workdir,
        "steps:\n  - recode: {column: municipality, hierarchy: jp_region, level: county}\n",
    )
    assert problems(path) == [
        f"{RECIPE}:7 steps[0].recode.level: unknown level 'county' of jp_region "
        "(levels: code, municipality, prefecture, region, region9, national)"
    ]


def test_hierarchy_is_validated_with_the_given_delimiter(workdir):
    # A comma-separated file whose labels contain semicolons: sniffing picks ';'.
    (workdir / "recipes" / "hierarchies" / "industry.csv").write_text(
        "11,Food; drink; tobacco\n12,Textiles\n", encoding="utf-8"
    )
    path = recipe(
        workdir,
        "steps:\n  - recode: {column: industry, hierarchy: hierarchies/industry.csv, "
        "delimiter: ',', level: 1}\n",
    )
    assert load_recipe(path).steps[0].params.delimiter == ","


def test_integer_map_keys_are_located_at_their_own_line(workdir):
    path = recipe(
        workdir,
        """\
        steps:
          - recode:
              column: sex
              map:
                1: M
                2: F
        """,
    )
    try:
        loaded = load_recipe(path)
    except RecipeError as exc:
        assert [str(p) for p in exc.problems] == [
            f"{RECIPE}:10 steps[0].recode.map.1: expected a text value",
            f"{RECIPE}:11 steps[0].recode.map.2: expected a text value",
        ]
    else:  # or the keys are accepted as the text "1", "2"
        assert loaded.steps[0].params.map == {"1": "M", "2": "F"}


# --------------------------------------------------------------------------- column roles


def test_column_declared_in_two_roles(workdir):
    path = recipe(
        workdir,
        """\
        columns:
          direct_identifiers: [name]
          key_variables: [age, name]
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:8 columns.key_variables: column 'name' is declared as both "
        "direct_identifiers and key_variables; give each column one role"
    ]


def test_linking_id_also_used_as_weight(workdir):
    path = recipe(
        workdir,
        """\
        columns:
          linking_ids: {hh: surrogate}
          weight: hh
        """,
    )
    assert problems(path) == [
        f"{RECIPE}:8 columns.weight: column 'hh' is declared as both linking_ids and weight; "
        "give each column one role"
    ]


def test_internal_column_prefix_is_reserved(workdir):
    path = recipe(workdir, "columns:\n  key_variables: [__anon_row]\n")
    assert problems(path) == [
        f"{RECIPE}:6 columns: column '__anon_row': names may not start with __anon_"
    ]


def test_steps_may_not_use_identifier_columns(workdir):
    demo_recipe(
        workdir,
        """\
        - recode: {column: name, map: {a: b}}
        - top_code: {column: age, above: 90}
        - subsample: {fraction: 0.5, by: member_id}
        - top_code:
            column: my_number
            above: 5
        - subsample: {fraction: 0.5, by: household_id}
        """,
        input_options=", numeric: [age, phone]",
    )
    error = failure(RECIPE)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:3 input.numeric[1]: column 'phone' is deleted before the steps run "
        "(columns.direct_identifiers)",
        f"{RECIPE}:14 steps[0].recode.column: column 'name' is deleted before the steps run "
        "(columns.direct_identifiers)",
        f"{RECIPE}:16 steps[2].subsample.by: column 'member_id' is deleted before the steps run "
        "(columns.linking_ids)",
        f"{RECIPE}:18 steps[3].top_code.column: column 'my_number' is deleted before the steps "
        "run (columns.identification_codes)",
    ]
    assert [p.code for p in error.problems] == ["uses_identifier"] * 4


def test_identifier_message_names_the_role_that_deletes_the_column(workdir):
    path = recipe(
        workdir,
        """\
        columns:
          direct_identifiers: [name]
          sensitive: [name]
        steps:
          - recode: {column: name, map: {a: b}}
        """,
    )
    assert problems(path)[1] == (
        f"{RECIPE}:10 steps[0].recode.column: column 'name' is deleted before the steps run "
        "(columns.direct_identifiers)"
    )


# --------------------------------------------------------------------------- keyed_hash keys


def linking_recipe(workdir: Path, spec: str) -> str:
    return recipe(workdir, f"columns:\n  linking_ids:\n    household_id: {spec}\n")


def test_keyed_hash_needs_key_env(workdir):
    path = linking_recipe(workdir, "{method: keyed_hash}")
    assert problems(path) == [
        f"{RECIPE}:8 columns.linking_ids.household_id: "
        "keyed_hash needs key_env: the environment variable with the key"
    ]


def test_keyed_hash_with_unset_environment_variable(workdir, monkeypatch):
    monkeypatch.delenv(KEY_ENV, raising=False)
    path = linking_recipe(workdir, f"{{method: keyed_hash, key_env: {KEY_ENV}}}")
    assert problems(path) == [
        f"{RECIPE}:8 columns.linking_ids.household_id: environment variable {KEY_ENV} is not set"
    ]


def test_keyed_hash_with_too_short_key_never_shows_the_key(workdir, monkeypatch):
    secret = "Sh0rtSecretKey!"  # 15 bytes, one short of the minimum
    monkeypatch.setenv(KEY_ENV, secret)
    path = linking_recipe(workdir, f"{{method: keyed_hash, key_env: {KEY_ENV}}}")
    error = failure(path)
    assert [str(p) for p in error.problems] == [
        f"{RECIPE}:8 columns.linking_ids.household_id: "
        f"the key in {KEY_ENV} is too short: use at least 16 bytes"
    ]
    shown = [
        str(error),
        error.render(),
        repr(error.problems),
        "".join(traceback.format_exception(error)),
    ]
    assert not any(secret in text for text in shown)


def test_keyed_hash_with_long_enough_key_loads(workdir, monkeypatch):
    secret = "a-long-enough-linking-key-0123456789"
    monkeypatch.setenv(KEY_ENV, secret)
    path = linking_recipe(workdir, f"{{method: keyed_hash, key_env: {KEY_ENV}}}")
    loaded = load_recipe(path)
    spec = loaded.recipe.columns.linking_ids["household_id"]
    assert (spec.method, spec.key_env) == ("keyed_hash", KEY_ENV)
    assert secret not in repr(loaded)


def test_key_env_only_with_keyed_hash(workdir, monkeypatch):
    monkeypatch.setenv(KEY_ENV, "a-long-enough-linking-key-0123456789")
    path = linking_recipe(workdir, f"{{method: surrogate, key_env: {KEY_ENV}}}")
    assert problems(path) == [
        f"{RECIPE}:8 columns.linking_ids.household_id: key_env is only used with method keyed_hash"
    ]


# --------------------------------------------------------------------------- issue 12 trust


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
def test_non_finite_numbers_in_a_recipe_are_refused(workdir: Path, value: str) -> None:
    found = problems(recipe(workdir, f"steps:\n  - top_code: {{column: age, above: {value}}}\n"))
    assert found == [f"{RECIPE}:7 steps[0].top_code.above: input should be a finite number"]


def test_k_is_bounded(workdir: Path) -> None:
    path = recipe(workdir, "columns: {key_variables: [age]}\nrisk: {k: 100000000000000000000000}\n")
    assert problems(path) == [f"{RECIPE}:7 risk.k: input should be less than or equal to 100000"]


def test_scan_off_written_unquoted_is_accepted(workdir: Path) -> None:
    """YAML 1.1 reads `off` as false; the README writes `undeclared: off`."""
    loaded = load_recipe(recipe(workdir, "scan: {undeclared: off}\n"))
    assert loaded.recipe.scan.undeclared == "off"
    assert problems(recipe(workdir, "scan: {undeclared: on}\n"))  # true is not a mode


def test_a_tabulation_recipe_given_to_run_points_to_tabulate(workdir: Path) -> None:
    text = HEADER.replace("name: test", "kind: tabulation\nname: test") + "tables: []\n"
    write_recipe(workdir, text)
    assert problems(RECIPE) == [
        f"{RECIPE}:2 kind: this is a tabulation recipe: run it with `anonymize tabulate` "
        "(in Python: pipeline.api.tabulate)"
    ]


# --------------------------------------------------------------------------- issue 24


def _deep(depth: int) -> str:
    """``description:`` nested ``depth`` mappings deep, one key per line (block style)."""
    lines = ["description:"] + [" " * (i + 1) + "a:" for i in range(depth)]
    return "\n".join(lines) + "\n" + " " * (depth + 1) + "x\n"


@pytest.mark.slow
@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            "description: &a {x: *a}\n",
            f"{RECIPE}:6 description.x: a mapping or list that "
            "contains itself (an alias inside its own anchor)",
        ),
        (
            "steps:\n  - recode: &r\n      column: age\n      map: {x: *r}\n",
            f"{RECIPE}:9 steps[0].recode.map.x: a mapping or list that contains itself",
        ),
        ("d: &l [1, *l]\n", f"{RECIPE}:6 d[1]: a mapping or list that contains itself"),
        (_deep(5000), f"{RECIPE}:106 description.a.a.a.a.a...: nesting deeper than 100 levels"),
        (
            "d: " + "[" * 5000 + "]" * 5000 + "\n",
            f"{RECIPE}:6 d[0][0][0][0][0]...: nesting deeper than 100 levels",
        ),
        (
            "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
            + "".join(f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 9)),
            f"{RECIPE}:11 the document expands to more than 1,000,000 values through its aliases",
        ),
    ],
    ids=["mapping-cycle", "step-cycle", "list-cycle", "deep-block", "deep-flow", "alias-bomb"],
)
def test_a_yaml_recipe_that_contains_itself_or_nests_too_deep(
    workdir: Path, body: str, expected: str
) -> None:
    found = problems(recipe(workdir, body))
    assert len(found) == 1 and found[0].startswith(expected), found


def test_a_100_level_nesting_is_still_read(workdir: Path) -> None:
    found = problems(recipe(workdir, _deep(98)))  # description + 98 + the value: 100 levels
    assert found == [f"{RECIPE}:6 description: expected a text value"]


@pytest.mark.parametrize(
    ("line", "key", "value"),
    [(4, "output.dir", "'~'"), (4, "output.dir", "'~/out'"), (3, "input.path", "'~/in.csv'")],
)
def test_a_path_starting_with_a_tilde_is_refused(
    workdir: Path, line: int, key: str, value: str
) -> None:
    """Nothing expands ``~``: a run would make a folder named ``~`` in the current one."""
    section, field = key.split(".")
    old = "{path: data/census.csv}" if section == "input" else "{dir: out/run}"
    write_recipe(workdir, HEADER.replace(old, f"{{{field}: {value}}}"))
    assert problems(RECIPE) == [
        f"{RECIPE}:{line} {key}: {value} starts with '~', which is not expanded to a home "
        "folder: write the path in full (or ./~ for a folder named '~')"
    ]


def test_a_null_path_says_that_yaml_read_it_as_null(workdir: Path) -> None:
    write_recipe(workdir, HEADER.replace("{dir: out/run}", "{dir: ~}"))
    assert problems(RECIPE) == [
        f"{RECIPE}:4 output.dir: expected a text value (got null: in "
        "YAML, ~ or nothing after the colon is null)"
    ]


def test_a_tabulation_output_starting_with_a_tilde_is_refused(workdir: Path) -> None:
    from pipeline.tabulate.load import load_tabulation

    text = (
        "version: 1\nkind: tabulation\nname: t\ninput: {path: data/census.csv}\n"
        "output: {dir: '~'}\ntables:\n  - {name: a, rows: {column: sex}, statistic: count}\n"
    )
    write_recipe(workdir, text)
    with pytest.raises(RecipeError) as info:
        load_tabulation(RECIPE)
    assert [str(p) for p in info.value.problems] == [
        f"{RECIPE}:5 output.dir: '~' starts with '~', which is not expanded to a home folder: "
        "write the path in full (or ./~ for a folder named '~')"
    ]


def test_generalize_l_diversity_names_a_column_of_the_input(workdir: Path) -> None:
    """Issue 24: the sensitive column of l-diversity / t-closeness is checked like any other."""
    step = (
        "steps:\n  - generalize:\n      k: 3\n      hierarchies: {age: {bands: [[0, 50]]}}\n"
        "      l_diversity: {column: COLUMN}\n"
    )
    text = HEADER + "columns: {direct_identifiers: [name], key_variables: [age, sex]}\n" + step
    write_recipe(workdir, text.replace("COLUMN", "name"))
    assert problems(RECIPE) == [
        f"{RECIPE}:11 steps[0].generalize.l_diversity.column: column 'name' is deleted before "
        "the steps run (columns.direct_identifiers)"
    ]
    write_recipe(workdir, text.replace("COLUMN", "incomee"))
    (call,) = load_recipe(RECIPE).steps
    assert call.params.columns_used() == {"l_diversity.column": "incomee"}


def test_every_mention_of_a_column_is_in_column_refs(workdir):
    path = demo_recipe(
        workdir,
        """\
        - top_code: {column: income, above: 9}
        - subsample: {fraction: 0.5, by: household_id}
        """,
        input_options=", numeric: [age]",
        extra="risk: {k: 3, household: household_id, l_diversity: {column: income, l: 2}}\n"
        "utility: {numeric: [income], tables: [[sex, age]]}\n",
    )
    loaded = load_recipe(path)
    refs = {
        (r.where, r.column, r.role, r.numeric) for r in column_refs(loaded.recipe, loaded.steps)
    }
    assert {
        ("columns.weight", "weight", "weight", True),
        ("input.numeric[0]", "age", "numeric", True),
        ("risk.household", "household_id", "household", False),
        ("risk.l_diversity.column", "income", "sensitive", False),
        ("utility.numeric[0]", "income", "utility", True),
        ("utility.tables[0][1]", "age", "utility", False),
        ("steps[0].top_code.column", "income", "step", True),
        ("steps[1].subsample.by", "household_id", "step", False),
    } <= refs
