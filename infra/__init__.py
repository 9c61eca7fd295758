"""The Pulumi program (Pulumi.yaml main: infra/), installed as ccsec.infra."""
