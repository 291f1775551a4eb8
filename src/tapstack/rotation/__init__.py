"""The migration token's Secrets Manager rotation function (boto3 + standard library; never imports pulumi).

Shipped as the top-level package ``rotation`` (handler ``rotation.app.handler``) next to a pinned boto3.
"""
