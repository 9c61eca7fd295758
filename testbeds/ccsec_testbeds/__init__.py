"""Test/lab beds: a local Swift all-in-one and synthetic stacks. Never imported by product code at import time."""
