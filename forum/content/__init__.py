"""Content: categories, topics, posts, their edits, and likes."""
