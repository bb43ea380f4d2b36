"""The pure domain: values, entities and rules. Imports only the standard library and attrs."""
