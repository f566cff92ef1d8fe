"""Loading: YAML read as TOML would be, and messages that say what to do."""

import pytest

from arena_run.spec.errors import SpecError
from arena_run.spec.load import load_text

JOB = "[job]\nimage = \"i\"\ncommand = \"c\"\n"


def problems(text, fmt="toml"):
    with pytest.raises(SpecError) as exc:
        load_text(text, fmt, "f")
    return [(p.line, p.column, p.path, p.message) for p in exc.value.problems]


def test_yaml_reads_yaml_1_2_scalars():
    exp = load_text("name: x\nnamespace: no\njob:\n  image: on\n  command: 2024-01-01\n", "yaml")
    assert (exp.namespace, exp.job.image, exp.job.command) == ("no", "on", "2024-01-01")


def test_yaml_keys_must_be_strings():
    assert problems("name: x\n1: a\n", "yaml") == [(2, 1, "", "syntax error: key '1' must be a string: quote it")]


def test_yaml_recursive_alias_is_refused_where_the_alias_is():
    (p,) = problems("name: x\njob: &a [*a]\n", "yaml")
    assert p[:2] == (2, 10) and "aliases are not supported" in p[3]


def test_yaml_top_level_list_points_at_it():
    assert problems("# a comment\n\n- name: x\n", "yaml") == [(3, 1, "", "expected a mapping of keys at the top of the file")]


def test_duplicate_key_points_at_the_repeated_key():
    (p,) = problems(f'name = "x"\n{JOB}gpus = 1\n  gpus = 2\n')
    assert p == (6, 3, "job.gpus", "duplicate key (first set at line 5)")


@pytest.mark.parametrize("key,meant", [("gpu", "gpus"), ("mount_path", None), ("model_dir", "model_path"),
                                       ("imagepullpolicy", None), ("comand", "command")])
def test_did_you_mean(key, meant):
    section = "serve" if key.startswith("model") else "job"
    text = f'name = "x"\n{JOB}[serve]\nmodel_path = "/d/m"\n[[data]]\nhost_path = "/d"\nmount = "/d"\n'
    text = text.replace(f"[{section}]\n", f"[{section}]\n{key} = 1\n")
    found = [m for _, _, path, m in problems(text) if path.endswith(key)]
    assert found, problems(text)
    if meant:
        assert found[0].endswith(f"did you mean {meant!r}?")


def test_literal_in_the_wrong_case_gets_a_hint():
    (p,) = problems(f'name = "x"\n{JOB}image_pull_policy = "always"\n')
    assert p[3] == "'always' is not one of 'Always', 'IfNotPresent' or 'Never'; did you mean 'Always'?"


@pytest.mark.parametrize("value,message", [
    ("inf", "inf is not a finite number"),
    ("nan", "nan is not a finite number"),
    ("-1", "-1 is not a Kubernetes quantity"),
    ("1979-05-27", "1979-05-27 is not a Kubernetes quantity"),
])
def test_odd_quantities(value, message):
    (p,) = problems(f'name = "x"\n{JOB}cpu = {value}\n')
    assert p[2] == "job.cpu" and p[3].startswith(message)


def test_int32_limits():
    ps = problems(f'name = "x"\n{JOB}workers = 3000000000\nttl_after_finished = "30000d"\n')
    assert [(p[2], p[3]) for p in ps] == [
        ("job.workers", "must be at most 2147483647, got 3000000000"),
        ("job.ttl_after_finished", "'30000d' is longer than Kubernetes takes (68 years)"),
    ]


def test_a_boolean_where_a_string_belongs_says_quote_it():
    (p,) = problems("name: x\nnamespace: false\njob: {image: i, command: c}\n", "yaml")
    assert p[3] == "expected a string, got a boolean (false): quote it if you meant a string"


def test_yaml_bad_character_is_located_in_characters_not_bytes():
    # libyaml reports a byte offset; a multi-byte character before it must not shift the column.
    (p,) = problems("name: \u0800x\njob:\n  \x1f\n", "yaml")
    assert p[:2] == (3, 3) and "control characters" in p[3]


def test_yaml_1_2_integers():
    """Issue 9 item 4: YAML 1.1 read 010 as 8; 1.2 reads ten, and 0o10 as eight."""
    exp = load_text("name: x\njob: {image: i, command: c, gpus: 010, workers: 0o10, ps: 0x3}\n", "yaml")
    assert (exp.job.gpus, exp.job.workers, exp.job.ps) == (10, 8, 3)


def test_a_byte_order_mark_is_ignored_in_toml_as_in_yaml(tmp_path):
    from arena_run.spec.load import load

    for name, text in (("arena.toml", f'name = "x"\n{JOB}'), ("arena.yaml", "name: x\njob: {image: i, command: c}\n")):
        (tmp_path / name).write_bytes(b"\xef\xbb\xbf" + text.encode())
        assert load(str(tmp_path / name)).name == "x"
    (tmp_path / "arena.toml").write_bytes(b"\xef\xbb\xbfname = 1\n")
    with pytest.raises(SpecError) as exc:
        load(str(tmp_path / "arena.toml"))
    assert [(p.line, p.column) for p in exc.value.problems] == [(1, 8)]


def test_sweep_values_whose_short_ids_collide_are_distinct_points():
    """Issue 9 item 13: 74071 and 79346 share 32 bits of id for the key p; they were called repeats."""
    from arena_run.spec.names import derived_names
    from arena_run.spec.sweep import point_id, points

    assert point_id({"p": 74071}) == point_id({"p": 79346})
    exp = load_text(f'name = "x"\n{JOB}[sweep]\np = [74071, 79346, 1]\n')
    suffixes = [pt.suffix for pt in points(exp.sweep)]
    assert len(set(suffixes)) == 3 and [len(s) for s in suffixes] == [16, 16, 8]
    assert suffixes[2] == point_id({"p": 1})  # the others keep their names
    assert len(set(derived_names(exp))) == len(derived_names(exp))


def test_problems_past_the_hundredth_are_counted():
    text = f'name = "x"\n{JOB}image_pull_secrets = [' + ", ".join(['"A"'] * 250) + "]\n"
    ps = problems(text)
    assert len(ps) == 101 and ps[-1][3] == "and 150 more problems from here on, not listed"
