"""One ComponentResource per concern; each takes (name, args, opts) and registers its outputs."""
