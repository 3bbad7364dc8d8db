"""Claim modules, one per SPEC.md chapter; every module here is imported by the registry."""
