"""The expert path's shortcuts give exactly what the general code gives: ``url_for`` what
``reverse`` gives, the plain-text Markdown path what markdown-it renders, the image signer
Django's own tokens."""

import random
import uuid

import pytest
from django.core import signing
from django.test import override_settings
from django.urls import NoReverseMatch, reverse, set_script_prefix

from audit.core import markdown
from audit.core.reversing import url_for
from audit.datasets.models import Image
from audit.datasets.selectors import IMAGE_URL_SALT, _ImageSigner, image_url, image_urls

ROUTES = [
    ("annotations:rate", {"campaign_id": uuid.uuid4(), "assignment_id": uuid.uuid4()}),
    ("annotations:campaign", {"campaign_id": uuid.uuid4()}),
    ("expert-api:submit", {"campaign_id": uuid.uuid4(), "assignment_id": str(uuid.uuid4())}),
    ("expert-api:draft", {"campaign_id": str(uuid.uuid4()), "assignment_id": uuid.uuid4()}),
    ("datasets:image", {"token": "0a1b2c:1tAbCd:Zx-_9aQ"}),
]


@pytest.mark.parametrize(("name", "kwargs"), ROUTES)
def test_url_for_is_reverse(name, kwargs):
    assert url_for(name, **kwargs) == reverse(name, kwargs=kwargs)
    assert url_for(name, **kwargs) == reverse(name, kwargs=kwargs)  # from the template now


def test_url_for_under_a_script_prefix():
    name, kwargs = ROUTES[0]
    set_script_prefix("/audit/")
    try:
        assert url_for(name, **kwargs) == reverse(name, kwargs=kwargs)
        assert url_for(name, **kwargs).startswith("/audit/")
    finally:
        set_script_prefix("/")
    assert url_for(name, **kwargs) == reverse(name, kwargs=kwargs)


@pytest.mark.parametrize("token", ["a b", "é", "a%b", "x?y", "semi;colon"])
def test_url_for_quotes_as_reverse_does(token):
    assert url_for("datasets:image", token=token) == reverse(
        "datasets:image", kwargs={"token": token}
    )


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [("datasets:image", {"token": "a/b"}), ("annotations:campaign", {"campaign_id": "nope"})],
)
def test_url_for_refuses_what_reverse_refuses(name, kwargs):
    with pytest.raises(NoReverseMatch):
        reverse(name, kwargs=kwargs)
    with pytest.raises(NoReverseMatch):
        url_for(name, **kwargs)


def _text(rng: random.Random) -> str:
    alphabet = list("ab Z.,;:?'\"\n\n-+=#>0123456789()/%é中") + list(
        "*_[]<>&|~!\\`\t\u00a0\u2028\u3000\x00"
    )
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24)))


def test_plain_text_renders_as_markdown_it_does():
    rng, taken = random.Random(20261204), 0
    for _ in range(40_000):
        text = _text(rng)
        plain = markdown._plain(text)
        if plain is not None:
            taken += 1
            assert plain == markdown._md.render(text), repr(text)
    assert taken > 1000  # the shortcut is exercised, not always refused


@pytest.mark.parametrize(
    "text",
    [
        "What abnormality is seen in the left lower lobe?",
        'The "ground-glass" opacity suggests early pneumonia.\nNo effusion.',
        "First paragraph.\n\nSecond paragraph, with a comma; and (brackets).",
        "肺部CT显示右下叶磨玻璃影。",
    ],
)
def test_everyday_texts_take_the_shortcut_and_match(text):
    assert markdown._plain(text) == markdown._md.render(text)
    assert str(markdown.render_markdown(text)) == markdown._md.render(text)


@pytest.mark.parametrize(
    "text",
    ["**bold**", "1. first", "- item", "a <b>tag</b>", "AT&T", "x\n===", "  indented", "a  \nb"],
)
def test_markdown_takes_the_general_path(text):
    assert markdown._plain(text) is None
    assert str(markdown.render_markdown(text)) == markdown._md.render(text)


def _token(url: str) -> str:
    return url.rstrip("/").rsplit("/", 1)[-1]


def test_image_tokens_are_djangos():
    image = Image(public_id=uuid.uuid4())
    url, thumb = image_urls(image, None, 256)
    assert thumb == f"{url}?size=256"
    django = signing.TimestampSigner(salt=IMAGE_URL_SALT)
    # Django's signer verifies ours, ours verifies Django's, and both sign alike.
    assert django.unsign(_token(url)) == image.public_id.hex
    assert _ImageSigner(salt=IMAGE_URL_SALT).unsign(django.sign("abc")) == "abc"
    value = f"{image.public_id.hex}:1tAbCd"
    assert _ImageSigner(salt=IMAGE_URL_SALT).signature(value) == django.signature(value)


def test_a_changed_secret_key_refuses_old_tokens_unless_kept_as_a_fallback():
    old = _token(image_url(Image(public_id=uuid.uuid4())))
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40):
        with pytest.raises(signing.BadSignature):
            _ImageSigner(salt=IMAGE_URL_SALT).unsign(old)
        assert django_unsigns(_token(image_url(Image(public_id=uuid.uuid4()))))
    with override_settings(SECRET_KEY="another-secret-key-" + "x" * 40,
                           SECRET_KEY_FALLBACKS=[_secret()]):  # fmt: skip
        assert _ImageSigner(salt=IMAGE_URL_SALT).unsign(old)


def _secret() -> str:
    from django.conf import settings

    return settings.SECRET_KEY


def django_unsigns(token: str) -> bool:
    return bool(signing.TimestampSigner(salt=IMAGE_URL_SALT).unsign(token))
