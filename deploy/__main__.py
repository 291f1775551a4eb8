"""Entry point for `pulumi up` from the repository root: the real program, unchanged."""

from tapstack.program import main

main()
