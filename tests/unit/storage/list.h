X(placeholder_storage)
