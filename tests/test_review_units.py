"""plan -o markdown and plan --diff, pure: a plan as a pull-request comment, objects as unified diffs."""

import copy

from hypothesis import given, strategies as st
from markdown_it import MarkdownIt

from arena_run.objects.keys import key_of
from arena_run.cli.markdown import cell, code, markdown
from arena_run.plan import make_plan
from arena_run.plan.unified import as_yaml, unified

from .test_plan import EXP, exp, recorded

GFM = MarkdownIt("commonmark").enable("table")
# Characters markdown gives meaning to, often, among any others.
TEXT = st.text(st.sampled_from("|\\`*_<>& \n") | st.characters(blacklist_categories=("Cs", "Cc")), max_size=40)


def inline_codes(md: str) -> list[str]:
    return [c.content for t in GFM.parse(md) if t.type == "inline" for c in t.children or [] if c.type == "code_inline"]


@given(TEXT.filter(lambda t: bool(t.split())))  # not filter(str.split): a replayed example skipped it
def test_inline_code_holds_any_text(text):
    # What a reader sees is the text itself (on one line), whatever backticks it has.
    assert inline_codes(code(text)) == [" ".join(text.split())]


@given(TEXT)
def test_a_table_cell_stays_one_cell(text):
    # The cell after it is still the second cell: no pipe or line break of the text split the row.
    md = f"| a | b |\n|---|---|\n| {cell(text)} | END |\n"
    tokens = GFM.parse(md)
    cells = [tokens[i + 1].content for i, t in enumerate(tokens) if t.type == "td_open"]
    assert len(cells) == 2 and cells[1] == "END"


def drifted_plan():
    """A plan with a replacement (changed command) and drift (`kubectl scale` set TensorBoard's replicas:
    the live objects and their managedFields as the control plane recorded them)."""
    live = recorded("scaled")
    return make_plan(exp(EXP.replace("sleep 1", "sleep 2 | tee `x`")), "ns", live)


def test_markdown_summarises_then_details_each_change():
    plans = [drifted_plan(), make_plan(exp(), "ns", recorded())]
    md = markdown(plans)
    lines = md.splitlines()
    assert lines[0] == "### arena-run plan: 2 experiment(s), 1 with changes, 1 drifted"
    rows = [t for t in GFM.parse(md) if t.type == "tr_open"]
    assert len(rows) == 3  # the header and one row per experiment
    assert "| exp | ns | 0 | 1 | 1 | 0 | yes | changes |" in lines
    assert "| exp | ns | 0 | 0 | 0 | 0 |  | no changes |" in lines
    assert "- `-/+` **TFJob exp**: forces replacement: job.command" in lines
    assert any("sleep 2 | tee `x`" in c for c in inline_codes(md))  # the new command, intact
    assert any("(drift: changed by `kubectl`)" in l for l in lines)
    assert md.count("<details>") == 1 and md.count("</details>") == 1


def test_markdown_says_when_a_plan_cannot_be_applied():
    plan = drifted_plan()
    plan.problems.append("ConfigMap ns/arena-run-exp is the ApplySet parent of another tool (kubectl/v1.30)")
    md = markdown([plan])
    assert "**Cannot be applied**" in md and "| error |" in md
    assert "- **error**: ConfigMap ns/arena-run-exp is the ApplySet parent of another tool" in md


def test_unified_diff_leaves_out_managed_fields_and_shows_the_change():
    live = recorded()
    key = next(k for k in live.members if k[0] == "TFJob.kubeflow.org")
    before = live.members[key]
    after = copy.deepcopy(before)
    after["spec"]["runPolicy"]["ttlSecondsAfterFinished"] = 120
    d = unified(key, "update", before, after)
    assert "managedFields" not in d.text and "managedFields" in str(before)
    head = d.text.splitlines()[:2]
    assert head == ["--- live/kubeflow.org.v1.TFJob.ns.exp", "+++ merged/kubeflow.org.v1.TFJob.ns.exp"]
    changed = [l for l in d.text.splitlines()[2:] if l[:1] in "+-"]
    assert changed == ["-    ttlSecondsAfterFinished: 60", "+    ttlSecondsAfterFinished: 120"]
    assert unified(key, "update", before, copy.deepcopy(before)).text == ""


def test_a_new_object_is_all_additions():
    obj = recorded().members
    key, o = next(iter(obj.items()))
    d = unified(key, "create", None, o)
    body = d.text.splitlines()[3:]
    assert body and all(l.startswith("+") for l in body)
    assert len(body) == len(as_yaml(o).splitlines())
    assert key_of(o) == key
