X(placeholder_ok)
