"""Unit tests of configuration: StackConfig from stack files and --set, regions, Pulumi project set-up."""
