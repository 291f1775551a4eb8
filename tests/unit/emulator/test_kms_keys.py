"""moto's KMS keys with their key pair made on first use: no RSA key for a symmetric key nobody signs with, and
every asymmetric operation answering as before."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest

from tapstack.emulator import kms_keys
from tests.helpers import mocked_aws


@pytest.fixture
def kms(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    kms_keys.install()
    with mocked_aws():
        yield boto3.client("kms", region_name="eu-west-1")


def _made(client: Any, key_id: str) -> bool:
    from moto.kms import kms_backends

    key = kms_backends["123456789012"]["eu-west-1"].keys[key_id]
    assert isinstance(key.private_key, kms_keys.KeyPairOnFirstUse)
    return key.private_key._made is not None


def test_a_symmetric_key_gets_no_key_pair_and_still_encrypts(kms: Any) -> None:
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    blob = kms.encrypt(KeyId=key_id, Plaintext=b"release")["CiphertextBlob"]
    assert kms.decrypt(CiphertextBlob=blob)["Plaintext"] == b"release"
    assert not _made(kms, key_id)


@pytest.mark.parametrize("spec", ["RSA_2048", "ECC_NIST_P256"])
def test_an_asymmetric_key_signs_and_verifies_with_the_pair_made_on_first_use(kms: Any, spec: str) -> None:
    key_id = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
    assert not _made(kms, key_id)
    algorithm = "RSASSA_PSS_SHA_256" if spec.startswith("RSA") else "ECDSA_SHA_256"
    signature = kms.sign(KeyId=key_id, Message=b"m", SigningAlgorithm=algorithm)["Signature"]
    assert kms.verify(KeyId=key_id, Message=b"m", Signature=signature, SigningAlgorithm=algorithm)["SignatureValid"]
    assert kms.get_public_key(KeyId=key_id)["PublicKey"]
    assert _made(kms, key_id)
