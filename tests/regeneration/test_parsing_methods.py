"""Pure parts: answer validation, and what build_request puts in a request per method."""

import base64
import json
from types import SimpleNamespace

import pytest

from audit.regeneration import methods as m
from audit.regeneration.parsing import OutputError, parse_output


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"description": " D ", "question": "Q?", "answer": "A."}),
        "```json\n" + json.dumps({"description": "D", "question": "Q?", "answer": "A."}) + "\n```",
    ],
)
def test_json_answers_are_accepted_plain_or_fenced(text):
    assert parse_output(text, m.JSON) == {"description": "D", "question": "Q?", "answer": "A."}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("Here you go: {", "not valid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        (json.dumps({"description": "D", "question": "Q"}), "field 'answer'"),
        (json.dumps({"description": 3, "question": "Q", "answer": "A"}), "field 'description'"),
        (json.dumps({"description": "x" * 20_001, "question": "Q", "answer": "A"}), "longer"),
    ],
)
def test_bad_json_answers_say_why(text, message):
    with pytest.raises(OutputError, match=message):
        parse_output(text, m.JSON)


def test_text_answers():
    assert parse_output("  A chest CT.\n", m.TEXT) == {"description": "A chest CT."}
    with pytest.raises(OutputError):
        parse_output("\n", m.TEXT)


def source(image_count=1, images=((b"PNGDATA", "png"),)):
    return m.SourceView(
        pair_id=1,
        key="k1",
        caption="CAP",
        context="CTX",
        modality="CT",
        body_part="Chest",
        image_count=image_count,
        load_images=lambda: [(fmt, data) for data, fmt in images],
    )


def method(key, template="", sees_image=True, sees_context=True):
    return SimpleNamespace(
        key=key, prompt_template=template, sees_image=sees_image, sees_context=sees_context
    )


@pytest.mark.parametrize(
    ("key", "image", "caption"),
    [
        ("llm_reformatted", False, True),
        ("mllm_distill", True, False),
        ("mllm_reformatted", True, True),
    ],
)
def test_build_request_gives_each_builtin_only_what_it_sees(key, image, caption):
    request = m.build_request(spec=m.BUILTIN_SPECS[key], source=source())
    sent = json.dumps(request.messages)
    assert ("CAP" in sent and "CTX" in sent) is caption
    assert ("CAP" in sent or "CTX" in sent) is caption
    assert ("image_url" in sent) is image
    if image:
        url = request.messages[-1]["content"][0]["image_url"]["url"]
        assert url == "data:image/png;base64," + base64.b64encode(b"PNGDATA").decode()
    assert len(request.prompt_hash) == 64


def test_a_method_that_does_not_see_the_image_never_loads_it():
    def boom():
        raise AssertionError("images loaded")

    view = m.SourceView(1, "k", "CAP", "CTX", "CT", "Chest", 1, load_images=boom)
    m.build_request(spec=m.BUILTIN_SPECS["llm_reformatted"], source=view)


def test_user_templates_are_checked_against_what_the_method_sees():
    spec = m.spec_for(
        method(
            "mine",
            "{modality} of the {body_part}, {image_count} image(s)",
            sees_image=False,
            sees_context=False,
        )
    )
    request = m.build_request(spec=spec, source=source(image_count=2))
    assert request.messages == [{"role": "user", "content": "CT of the Chest, 2 image(s)"}]
    with pytest.raises(m.MethodError, match="does not see the context"):
        m.spec_for(method("x", "{caption}", sees_context=False))
    with pytest.raises(m.MethodError, match="unknown template variable"):
        m.spec_for(method("x", "{scenario}"))
    with pytest.raises(m.MethodError, match="not valid"):
        m.spec_for(method("x", "{caption"))
    with pytest.raises(m.MethodError, match="no prompt template"):
        m.spec_for(method("x", "  "))
    with pytest.raises(m.MethodError, match="output must be"):
        m.spec_for(method("x", "{caption}"), output="xml")


def test_standard_questions_follow_the_image_count_and_are_stable():
    single, multi = m.standard_question(source(1)), m.standard_question(source(3))
    assert single in m.STANDARD_QUESTIONS_SINGLE and multi in m.STANDARD_QUESTIONS_MULTI
    assert m.standard_question(source(1)) == single
    assert m.scenario(source()) in m.SCENARIOS


def test_native_caption_needs_some_text():
    empty = m.SourceView(1, "k", " ", "", "", "", 1, load_images=lambda: [])
    with pytest.raises(m.MethodError, match="neither caption nor context"):
        m.native_caption_items(empty)
