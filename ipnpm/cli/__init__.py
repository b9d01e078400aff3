"""The command line: the pre-click pass-through decision, parsing, and the one error boundary."""
