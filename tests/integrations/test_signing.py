"""Standard Webhooks signatures: what we sign, a receiver verifies; anything changed on the way is refused."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from integrations import signing

BODY = b'{"id":"e1","type":"ping","data":{}}'


def test_a_secret_is_whsec_and_32_random_bytes():
    secret = signing.generate_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert secret != signing.generate_secret()


def test_the_signature_is_the_hmac_of_id_timestamp_and_body_with_the_secrets_bytes():
    secret = signing.generate_secret()
    key = base64.b64decode(secret.removeprefix("whsec_"))
    expected = base64.b64encode(hmac.new(key, b"msg_1.1700000000." + BODY, hashlib.sha256).digest()).decode()

    headers = signing.headers(secret=secret, msg_id="msg_1", body=BODY, timestamp=1_700_000_000)

    assert headers == {"webhook-id": "msg_1", "webhook-timestamp": "1700000000", "webhook-signature": f"v1,{expected}"}


def test_the_standard_webhooks_reference_vector_verifies():
    # The test vector of the Standard Webhooks reference libraries.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    headers = {
        "webhook-id": "msg_p5jXN8AQM9LWM0D4loKWxJek",
        "webhook-timestamp": "1614265330",
        "webhook-signature": "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=",
    }

    signing.verify(secret=secret, headers=headers, body=b'{"test": 2432232314}', now=1614265330)


def test_signed_headers_round_trip_whatever_the_header_case():
    secret = signing.generate_secret()
    headers = signing.headers(secret=secret, msg_id="msg_2", body=BODY)

    signing.verify(secret=secret, headers={name.title(): value for name, value in headers.items()}, body=BODY)


def test_a_tampered_body_is_refused():
    secret = signing.generate_secret()
    headers = signing.headers(secret=secret, msg_id="msg_3", body=BODY)

    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret=secret, headers=headers, body=BODY.replace(b"ping", b"pong"))


def test_another_secret_is_refused():
    headers = signing.headers(secret=signing.generate_secret(), msg_id="msg_4", body=BODY)

    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret=signing.generate_secret(), headers=headers, body=BODY)


def test_an_old_timestamp_is_refused_as_a_replay():
    secret = signing.generate_secret()
    headers = signing.headers(secret=secret, msg_id="msg_5", body=BODY, timestamp=1_700_000_000)

    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret=secret, headers=headers, body=BODY, now=1_700_000_000 + 301)


def test_one_valid_signature_among_several_is_enough():
    secret = signing.generate_secret()
    headers = signing.headers(secret=secret, msg_id="msg_6", body=BODY)
    headers["webhook-signature"] = "v1,AAAA " + headers["webhook-signature"]

    signing.verify(secret=secret, headers=headers, body=BODY)


def test_missing_headers_are_refused():
    with pytest.raises(signing.InvalidSignature):
        signing.verify(secret=signing.generate_secret(), headers={}, body=BODY)
