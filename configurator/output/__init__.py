"""Output: console, live view, plan view, JSON, JUnit, Markdown, redaction."""
