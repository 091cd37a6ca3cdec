"""Generated protobuf packages (see ../../gen_stubs.py)."""
