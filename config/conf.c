typedef int cp_conf_placeholder_t;
