"""The events' JSON Schemas (schemas/events/) and the nested template that registers them."""
