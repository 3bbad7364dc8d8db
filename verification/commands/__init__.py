"""Sub-commands of ``python -m verification``: each module defines NAME, HELP, add_arguments, run."""
