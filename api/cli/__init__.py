"""The `partnerledger` command line: `main.py` holds the group, one module per command family."""
