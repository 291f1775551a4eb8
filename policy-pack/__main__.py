"""`pulumi preview --policy-pack policy-pack`: the TapStack guard rules as a CrossGuard policy pack.

The policies themselves live in ``tapstack.guard.crossguard`` (importable and unit-tested); constructing a
PolicyPack starts the analyzer server, which is why it happens only here.
"""

from pulumi_policy import PolicyPack

from tapstack.guard.crossguard import PACK_NAME, policies

PolicyPack(name=PACK_NAME, policies=policies())
