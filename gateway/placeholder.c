typedef int cp_placeholder_t;
