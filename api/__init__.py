"""Entry points: the Flask app and the `partnerledger` command line."""
