"""The HTTP entry point: the Flask app factory, routes, schemas, presenters and the server."""
