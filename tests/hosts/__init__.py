"""The host suite, shipped in the wheel as ``ccsec.hostsuite`` so an installed ``ccsec verify`` can run it."""
