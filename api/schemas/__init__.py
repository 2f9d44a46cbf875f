"""marshmallow schemas for every HTTP body, query and response."""
