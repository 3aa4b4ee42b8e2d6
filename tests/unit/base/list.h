X(err_table_maps_statuses)
X(err_fail_formats_message)
