"""marshmallow schemas of HTTP answers and queries; bodies are in api/schemas."""
