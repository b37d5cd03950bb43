"""Small shared helpers: secret redaction, the fake word tokenizer."""
