X(placeholder_codecs)
