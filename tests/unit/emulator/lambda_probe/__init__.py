"""A function package the Lambda tests deploy: it reports what a handler sees, raises or overruns on request."""
