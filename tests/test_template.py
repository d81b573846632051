from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keyspace import InvalidKeyValue, KeyTemplate, TemplateError
from keyspace.core.template import segment_problem

POSITION = KeyTemplate("user:{user_id}:position:{symbol}:{side}", owner="Position")


def test_parse_fields_and_segments() -> None:
    assert POSITION.fields == ("user_id", "symbol", "side")
    assert len(POSITION.segments) == 5
    celery = KeyTemplate("celery-task-meta-{task_id}")
    assert celery.fields == ("task_id",)
    assert celery.render({"task_id": "abc"}) == "celery-task-meta-abc"
    assert celery.match("celery-task-meta-abc") == {"task_id": "abc"}
    assert celery.match("celery") is None


def test_render_and_match() -> None:
    key = POSITION.render({"user_id": "1", "symbol": "BTC-USDT-SWAP", "side": "long"})
    assert key == "user:1:position:BTC-USDT-SWAP:long"
    assert POSITION.match(key) == {"user_id": "1", "symbol": "BTC-USDT-SWAP", "side": "long"}
    assert POSITION.match("user:1:position:BTC-USDT-SWAP:long:dca_count") is None
    assert POSITION.match("user:1:positions:BTC:long") is None
    assert POSITION.match("user:*:position:BTC:long") is None  # could not have been rendered


@pytest.mark.parametrize(
    "value",
    [
        *("", "a:b", "a b", "a\tb", "a\nb", "a*", "a?", "[a]", "a\\b", "{a}", "a\x00", "x" * 257, "é" * 129),
        # invisible, bidi, private-use, surrogate, unassigned, C1 control, non-ASCII spaces (issue 12 §7)
        *("a\u200bb", "a\u202eb", "\ufeffa", "a\u2060", "a\u00ad", "a\ue000", "a\ud800", "a\u0378"),
        *("a\u0085", "a\u00a0b", "a\u3000b", "a\u2028b"),
    ],
)
def test_refuses_values_that_break_the_keyspace(value: str) -> None:
    with pytest.raises(InvalidKeyValue) as info:
        POSITION.render({"user_id": value, "symbol": "BTC", "side": "long"})
    assert info.value.model == "Position"
    assert info.value.field == "user_id"
    assert "Position" in str(info.value) and "user_id" in str(info.value)


def test_accepts_256_bytes_exactly() -> None:
    assert segment_problem("x" * 256) is None


@pytest.mark.parametrize("value", ["BTC-USDT-SWAP", "한국어", "café", "e\u0301", "₿", "👍"])
def test_accepts_visible_unicode(value: str) -> None:
    assert segment_problem(value) is None


def test_missing_field_is_named() -> None:
    with pytest.raises(InvalidKeyValue) as info:
        POSITION.render({"user_id": "1", "symbol": "BTC"})
    assert info.value.field == "side"


def test_scan_pattern_escapes_fixed_parts() -> None:
    assert POSITION.scan_pattern({}) == "user:*:position:*:*"
    assert POSITION.scan_pattern({"user_id": "7"}) == "user:7:position:*:*"
    odd = KeyTemplate("odd[1]*?:{x}")
    assert odd.scan_pattern({}) == "odd\\[1\\]\\*\\?:*"
    with pytest.raises(InvalidKeyValue):
        POSITION.scan_pattern({"user_id": "*"})
    with pytest.raises(InvalidKeyValue):
        POSITION.scan_pattern({"nope": "1"})


@pytest.mark.parametrize("bad", ["", "a::b", "a:{x}{y}", "a:{x}:{x}", "a:{x", "a:x}"])
def test_bad_templates(bad: str) -> None:
    with pytest.raises(TemplateError):
        KeyTemplate(bad)


def test_overlap_detection() -> None:
    def accepts(template: KeyTemplate, field: str, text: str) -> bool:
        return not (field == "side" and text not in ("long", "short"))

    state = KeyTemplate("user:{user_id}:position:{symbol}:position_state")
    assert not POSITION.overlaps(state, accepts)
    assert POSITION.overlaps(state, lambda *_: True)
    assert not POSITION.overlaps(KeyTemplate("user:{a}:api:keys"), accepts)
    assert KeyTemplate("user:{a}:settings").overlaps(KeyTemplate("user:{b}:settings"), accepts)
    assert not KeyTemplate("a-{x}").overlaps(KeyTemplate("b-{x}"), accepts)


segment = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), blacklist_characters=":*?[]\\{}\x85\xa0"
    ),
    min_size=1,
    max_size=40,
).filter(lambda s: segment_problem(s) is None)


@given(user_id=segment, symbol=segment, side=segment)
def test_render_match_round_trip(user_id: str, symbol: str, side: str) -> None:
    values = {"user_id": user_id, "symbol": symbol, "side": side}
    key = POSITION.render(values)
    assert POSITION.match(key) == values


@given(value=st.text(max_size=300))
def test_render_accepts_exactly_what_match_returns(value: str) -> None:
    template = KeyTemplate("p:{v}:s")
    if segment_problem(value) is None:
        assert template.match(template.render({"v": value})) == {"v": value}
    else:
        with pytest.raises(InvalidKeyValue):
            template.render({"v": value})
