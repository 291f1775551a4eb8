"""System C: the same Pulumi program deployed into an embedded AWS emulator (moto) on loopback."""
