"""A module that fails on import (the harness must report a usage error, not crash)."""

raise ImportError("this module cannot be imported")
