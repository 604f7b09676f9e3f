"""Views: each a function from a record to a document or a rich renderable."""
