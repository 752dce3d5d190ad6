"""The neutral value model and its WAVE text form."""
from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from keel_conformance import types as T
from keel_conformance import wave
from keel_conformance.strategies import for_type
from keel_conformance.values import ANY, Err, Ok, Some, Variant, matches

SQL_VALUE = T.VariantT((("null", None), ("integer", T.Prim("s64")), ("real", T.Prim("f64")),
                        ("text", T.Prim("string")), ("blob", T.ListT(T.Prim("u8")))))
KITCHEN_SINK = T.RecordT((
    ("flag", T.Prim("bool")), ("small", T.Prim("s8")), ("big", T.Prim("u64")), ("ratio", T.Prim("f32")),
    ("letter", T.Prim("char")), ("name", T.Prim("string")), ("blob", T.ListT(T.Prim("u8"))),
    ("values", T.ListT(SQL_VALUE)), ("pair", T.TupleT((T.Prim("s32"), T.Prim("string")))),
    ("locale", T.EnumT(("en", "de", "ja"))), ("maybe", T.OptionT(T.OptionT(T.Prim("u8")))),
    ("outcome", T.ResultT(T.OptionT(T.ListT(T.Prim("u8"))), T.VariantT((("no-such-key", None), ("backend", T.Prim("string")))))),
    ("unit", T.ResultT(None, None)), ("channels", T.FlagsT(("email", "sms", "push"))),
))


@settings(max_examples=300)
@given(st.data())
def test_every_value_survives_format_then_parse(data: st.DataObject) -> None:
    value = data.draw(for_type(KITCHEN_SINK))
    text = wave.format(value, KITCHEN_SINK)
    assert matches(value, wave.parse(text, KITCHEN_SINK)), text


@pytest.mark.parametrize("text, ty, want", [
    ('"a\\n\\u{1F980}\\""', T.Prim("string"), "a\n\U0001F980\""),
    ("'\\u{10ffff}'", T.Prim("char"), "\U0010FFFF"),
    ("-9223372036854775808", T.Prim("s64"), -(2**63)),
    ("[1, 2, 255]", T.ListT(T.Prim("u8")), b"\x01\x02\xff"),
    ("some(none)", T.OptionT(T.OptionT(T.Prim("u8"))), Some(None)),
    ("ok", T.ResultT(None, T.Prim("string")), Ok()),
    ("err(no-such-key)", T.ResultT(T.Prim("u8"), T.VariantT((("no-such-key", None),))), Err(Variant("no-such-key"))),
    ("{sms, email}", T.FlagsT(("email", "sms", "push")), frozenset({"email", "sms"})),
    ("{}", T.FlagsT(("email",)), frozenset()),
    ("{b: 1}", T.RecordT((("a", T.OptionT(T.Prim("u8"))), ("b", T.Prim("u8")))), {"a": None, "b": 1}),
])
def test_parse_reads_wave(text: str, ty: T.WitType, want: object) -> None:
    assert matches(want, wave.parse(text, ty))


@pytest.mark.parametrize("text, ty, says", [
    ("256", T.Prim("u8"), "out of range for u8"),
    ("1.5", T.Prim("s32"), "expected an integer"),
    ("maybe", T.EnumT(("en", "de")), "not a case of this enum; cases are en, de"),
    ("{a: 1}", T.RecordT((("a", T.Prim("u8")), ("b", T.Prim("u8")))), "missing field 'b'"),
    ("{a: 1, c: 2}", T.RecordT((("a", T.Prim("u8")),)), "no field 'c'"),
    ("integer", SQL_VALUE, "needs a payload"),
    ("null(1)", SQL_VALUE, "has no payload"),
    ("'ab'", T.Prim("char"), "one scalar value"),
    ('"\\u{d800}"', T.Prim("string"), "not a Unicode scalar value"),
    ("[1, 2", T.ListT(T.Prim("u8")), "expected ',' or ']'"),
    ("1 2", T.Prim("u8"), "unexpected '2'"),
    ("$missing", T.Prim("u8"), "no value named $missing"),
])
def test_parse_errors_say_where_and_why(text: str, ty: T.WitType, says: str) -> None:
    with pytest.raises(wave.WaveError, match=None) as e:
        wave.parse(text, ty)
    assert says in str(e.value)


def test_variables_and_wildcards() -> None:
    sig = T.FuncSig("set", (("key", T.Prim("string")), ("value", T.ListT(T.Prim("u8")))), None)
    assert wave.parse_args('("k", $blob)', sig, {"blob": b"\x00" * 4}) == ["k", b"\x00" * 4]
    pattern = wave.parse("err(backend(_))", T.ResultT(None, T.VariantT((("backend", T.Prim("string")),))))
    assert matches(pattern, Err(Variant("backend", "disk on fire")))
    assert not matches(pattern, Ok())
    assert matches(ANY, object())


def test_floats_compare_by_nan_ness_and_sign() -> None:
    assert matches(math.nan, float("nan"))
    assert not matches(0.0, -0.0)
    assert not matches(1, 1.0)  # s64 1 and f64 1.0 are different WIT values
    assert wave.format(-math.inf) == "-inf" and wave.parse("-inf", T.Prim("f64")) == -math.inf


def test_brief_format_shortens_large_values() -> None:
    text = wave.format(b"\x07" * 1_000_000, T.ListT(T.Prim("u8")), brief=True)
    assert len(text) < 100 and "1000000 items" in text
