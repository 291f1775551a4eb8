"""Which CPU architecture an EC2 instance type runs, and which Amazon Linux 2023 AMI parameter fits it.

An arm64 AMI does not boot on an x86_64 instance (and the reverse): EC2 refuses the launch, so the Auto
Scaling group retries forever with the in-service alarm as the only symptom. The architecture is therefore
decided from the instance type at config time, and a family TapStack does not know is refused there, not
guessed.

Source of the family tables: EC2 DescribeInstanceTypes (``ProcessorInfo.SupportedArchitectures``) for every
instance type AWS offers, as bundled by moto 5.2.5 (``moto/ec2/resources/instance_types.json``); families
listed with x86_64 (some also with i386) are x86_64. Mac families (``x86_64_mac``/``arm64_mac``) run macOS,
which has no Amazon Linux AMI, and are deliberately absent. A test re-derives the tables from that file.
"""

from __future__ import annotations

from enum import StrEnum


class Architecture(StrEnum):
    ARM64 = "arm64"
    X86_64 = "x86_64"


ARM64_FAMILIES: frozenset[str] = frozenset(
    {
        "a1",
        "c6g",
        "c6gd",
        "c6gn",
        "c7g",
        "c7gd",
        "c7gn",
        "c8g",
        "c8gb",
        "c8gd",
        "c8gn",
        "c9g",
        "c9gd",
        "g5g",
        "hpc7g",
        "i4g",
        "i8g",
        "i8ge",
        "im4gn",
        "is4gen",
        "m6g",
        "m6gd",
        "m7g",
        "m7gd",
        "m8g",
        "m8gb",
        "m8gd",
        "m8gn",
        "m9g",
        "m9gd",
        "r6g",
        "r6gd",
        "r7g",
        "r7gd",
        "r8g",
        "r8gb",
        "r8gd",
        "r8gn",
        "r9g",
        "r9gd",
        "t4g",
        "x2gd",
        "x8g",
    }
)
"""AWS Graviton families."""

X86_64_FAMILIES: frozenset[str] = frozenset(
    {
        "c1",
        "c3",
        "c4",
        "c5",
        "c5a",
        "c5ad",
        "c5d",
        "c5n",
        "c6a",
        "c6i",
        "c6id",
        "c6in",
        "c7a",
        "c7i",
        "c7i-flex",
        "c8a",
        "c8i",
        "c8i-flex",
        "c8ib",
        "c8id",
        "c8in",
        "c8ine",
        "d2",
        "d3",
        "d3en",
        "dl2q",
        "f2",
        "g4dn",
        "g5",
        "g6",
        "g6e",
        "g6f",
        "g7",
        "g7e",
        "gr6",
        "gr6f",
        "h1",
        "hpc6a",
        "hpc6id",
        "hpc7a",
        "hpc8a",
        "i2",
        "i3",
        "i3en",
        "i4i",
        "i7i",
        "i7ie",
        "inf1",
        "inf2",
        "m1",
        "m2",
        "m3",
        "m4",
        "m5",
        "m5a",
        "m5ad",
        "m5d",
        "m5dn",
        "m5n",
        "m5zn",
        "m6a",
        "m6i",
        "m6id",
        "m6idn",
        "m6in",
        "m7a",
        "m7i",
        "m7i-flex",
        "m8a",
        "m8azn",
        "m8i",
        "m8i-flex",
        "m8ib",
        "m8id",
        "m8idb",
        "m8idn",
        "m8in",
        "m8ine",
        "p3dn",
        "p4d",
        "p4de",
        "p5",
        "p5e",
        "p5en",
        "p6-b200",
        "p6-b300",
        "r3",
        "r4",
        "r5",
        "r5a",
        "r5ad",
        "r5b",
        "r5d",
        "r5dn",
        "r5n",
        "r6a",
        "r6i",
        "r6id",
        "r6idn",
        "r6in",
        "r7a",
        "r7i",
        "r7iz",
        "r8a",
        "r8i",
        "r8i-flex",
        "r8ib",
        "r8id",
        "r8idb",
        "r8idn",
        "r8in",
        "t1",
        "t2",
        "t3",
        "t3a",
        "t8i",
        "trn1",
        "trn1n",
        "trn2",
        "trn2u",
        "u-3tb1",
        "u-6tb1",
        "u7i-12tb",
        "u7i-6tb",
        "u7i-8tb",
        "u7in-16tb",
        "u7in-24tb",
        "u7in-32tb",
        "vt1",
        "x1",
        "x1e",
        "x2idn",
        "x2iedn",
        "x2iezn",
        "x8aedz",
        "x8i",
        "z1d",
    }
)
"""Intel and AMD families."""

AMI_PARAMETER_PREFIX = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-"
"""The public SSM parameters AWS keeps pointing at the latest Amazon Linux 2023 AMI of each architecture."""


class UnknownInstanceFamily(ValueError):
    """An instance type whose family is in neither table: its architecture cannot be known here."""


def family(instance_type: str) -> str:
    return instance_type.split(".", 1)[0]


def architecture(instance_type: str) -> Architecture:
    """The architecture of ``instance_type``; raises UnknownInstanceFamily for a family in neither table."""
    name = family(instance_type)
    if name in ARM64_FAMILIES:
        return Architecture.ARM64
    if name in X86_64_FAMILIES:
        return Architecture.X86_64
    raise UnknownInstanceFamily(
        f"unknown instance family {name!r}: expected an Amazon Linux capable family such as t3 (x86_64) or t4g (arm64)"
    )


def ami_parameter(arch: Architecture) -> str:
    """The SSM parameter naming the latest Amazon Linux 2023 AMI of ``arch``."""
    return AMI_PARAMETER_PREFIX + arch.value


def parameter_architecture(parameter: str) -> Architecture | None:
    """The architecture an AMI parameter name states (``...-arm64``, ``...-x86_64``), None if it states none."""
    for arch in Architecture:
        if parameter.endswith("-" + arch.value):
            return arch
    return None
