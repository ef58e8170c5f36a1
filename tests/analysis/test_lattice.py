"""The provenance lattice itself (analysis/facts.py): joins, evidence through joins, containers, and the
summary encoding that carries facts across modules (analysis/crossmodule.py)."""
import libcst as cst
from hypothesis import given, strategies as st

from tensorlint.analysis.branches import literal_flags
from tensorlint.analysis.crossmodule import bind_arguments, decode_facts, encode_facts, guards_reached
from tensorlint.analysis.facts import (
    MAYBE, MODULE, NO, NOTHING, NOT_TENSOR, PARAMETER, UNKNOWN, YES, Evidence, Facts, Tri, container_of, join_all)
from tensorlint.analysis.literals import literal_truth, string_value

SHOWN = Evidence("comes from `{code}`{line}", cst.parse_expression("model(x)"))
tris = st.sampled_from([NO, MAYBE, YES])
whys = st.sampled_from([None, SHOWN, Evidence("is a parameter")])
flat_facts = st.builds(Facts, tensor=tris, grad=tris, device=tris, module=tris, grad_why=whys, device_why=whys,
                       guessed=st.booleans())
facts = st.recursive(flat_facts, lambda inner: st.builds(container_of, inner), max_leaves=3)


def _tri_fields(f: Facts):
    return (f.tensor, f.grad, f.device, f.module)


def _at_most(a: Tri, b: Tri) -> bool:
    """The lattice order: NO and YES are each below MAYBE."""
    return a is b or b is MAYBE


@given(tris, tris)
def test_tri_join_is_the_least_upper_bound(a, b):
    joined = a.join(b)
    assert joined is b.join(a)
    assert _at_most(a, joined) and _at_most(b, joined)
    assert joined is (a if a is b else MAYBE)


@given(facts, facts, facts)
def test_facts_join_is_commutative_associative_and_idempotent_on_what_is_known(a, b, c):
    assert _tri_fields(a.join(b)) == _tri_fields(b.join(a))
    assert _tri_fields(a.join(b).join(c)) == _tri_fields(a.join(b.join(c)))
    assert a.join(a) == a


@given(facts, facts)
def test_a_join_is_above_both_sides(a, b):
    joined = a.join(b)
    for mine, theirs in zip(_tri_fields(a), _tri_fields(joined)):
        assert _at_most(mine, theirs)
    assert joined.guessed == (a.guessed or b.guessed)


@given(facts)
def test_nothing_is_the_identity_of_join(a):
    assert a.join(NOTHING) == a
    assert NOTHING.join(a) == a


@given(facts, facts)
def test_evidence_survives_a_join_whenever_one_side_shows_the_fact(a, b):
    joined = a.join(b)
    assert joined.grad_evidenced == (a.grad_evidenced or b.grad_evidenced) or joined.grad is NO
    assert joined.device_evidenced == (a.device_evidenced or b.device_evidenced) or joined.device is NO


def test_a_guess_is_not_evidence():
    unknown_parameter = Facts(tensor=YES, grad=MAYBE, device=MAYBE, guessed=True)
    assert not unknown_parameter.grad_evidenced and not unknown_parameter.device_evidenced
    assert PARAMETER.grad_evidenced and not PARAMETER.device_evidenced


def test_framework_placement_is_evidence_but_not_shown_by_code():
    placed = Facts(tensor=YES, device=YES, device_why=Evidence("placed", by_framework=True))
    moved = Facts(tensor=YES, device=YES, device_why=Evidence("moved", cause=SHOWN))
    assert placed.device_evidenced and not placed.device_shown_by_code
    assert moved.device_shown_by_code


def test_containers_know_their_tensors_through_nesting_and_tuple_positions():
    batches = container_of(container_of(PARAMETER))
    assert batches.holds_tensors and batches.tensor_content() is PARAMETER
    pairs = container_of(container_of(None, parts=(NOT_TENSOR, PARAMETER)))
    assert pairs.holds_tensors
    assert not container_of(UNKNOWN).holds_tensors and container_of(UNKNOWN).tensor_content() is None


def test_tuples_join_position_by_position_only_when_their_lengths_agree():
    two = container_of(None, parts=(PARAMETER, NOT_TENSOR))
    assert two.join(two).parts == (PARAMETER, NOT_TENSOR)
    assert two.join(container_of(None, parts=(PARAMETER,))).parts is None


def test_instance_and_named_parameter_survive_only_agreeing_paths():
    net = MODULE.with_(instance_of=":Net", named_parameter=True)
    assert net.join(net.with_(device=YES)).instance_of == ":Net"
    assert net.join(MODULE.with_(instance_of=":Other")).instance_of is None
    assert not net.join(MODULE).named_parameter


def test_join_all():
    assert join_all([]) is None
    assert join_all([PARAMETER, NOT_TENSOR]).tensor is MAYBE


@given(facts)
def test_a_summary_carries_facts_across_modules_unchanged_but_for_evidence_nodes(a):
    back = decode_facts(encode_facts(a))
    assert _tri_fields(back) == _tri_fields(a) and back.guessed == a.guessed
    assert back.grad_evidenced == a.grad_evidenced and back.device_evidenced == a.device_evidenced


def test_literals():
    assert string_value(cst.parse_expression('"cuda:0"')) == "cuda:0"
    assert string_value(cst.parse_expression('b"cuda"')) is None
    assert string_value(cst.parse_expression("device")) is None
    assert [literal_truth(cst.parse_expression(text)) for text in ("True", "None", "0", "1.5", "''", "'x'", "n")] \
        == [True, False, False, True, False, True, None]


def test_a_call_binds_its_arguments_and_rules_out_branches_by_literal_flags():
    call = cst.ensure_type(cst.parse_expression("to_np(x, as_numpy=False)"), cst.Call)
    assert set(bind_arguments(("t", "as_numpy"), call)) == {"t", "as_numpy"}
    assert bind_arguments(("t",), cst.ensure_type(cst.parse_expression("f(*a)"), cst.Call)) == {}
    assert not guards_reached([("as_numpy", True)], call, ("t", "as_numpy"), {})
    assert guards_reached([("as_numpy", False)], call, ("t", "as_numpy"), {})
    assert literal_flags(call) == (("as_numpy", False),)
