"""The migration Lambda's own code (validate / migrate / rollback / status).

Shipped to Lambda as the top-level package ``handler`` (handler string ``handler.app.handler``) and imported
by the tests as ``tapstack.handler``: hence relative imports only, and nothing but boto3, the standard library,
``tapstack.contract`` and ``tapstack.runtime`` (the archive carries both), so the archive needs no layer.
"""
