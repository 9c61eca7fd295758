"""ccaas-baseline CrossGuard policy pack for OpenStack (see docs/policies.md).

Importing this package never starts the gRPC server: only ``__main__.py`` constructs ``PolicyPack``.
"""
