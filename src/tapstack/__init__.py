"""TapStack: a secure, multi-region AWS platform as a Pulumi program."""
