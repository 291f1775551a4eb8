"""The release agent that runs on every application instance (boto3 + stdlib, never imports pulumi).

Each pass follows the region's ``releases/current.json``: fetch the promoted artifacts by the S3 version ids
recorded at promotion, verify their sha256, unpack, switch ``current`` atomically, restart the application,
health-check it, return to the previous release by itself on failure, and write a heartbeat.

The same files run unchanged on the instance as the top-level package ``tapstack_agent`` (user data ships
them there), where the interpreter is Amazon Linux 2023's system Python 3.9: every module uses relative
imports only, ``from __future__ import annotations``, and nothing newer than Python 3.9 at run time.
"""
