"""Unit tests of the diagram, the HTML report and the docs kept in step with the code."""
