"""Shared chassis for the monetization services (see README.md)."""
import warnings

# eventlet (under nameko) announces its own deprecation on import; the decision
# to keep nameko for now is recorded in docs/decisions/0003-nameko-behind-one-adapter.md.
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")
