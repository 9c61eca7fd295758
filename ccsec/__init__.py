"""ccsec: the one command-line entry point that wires the baseline's parts together."""
