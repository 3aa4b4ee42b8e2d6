-- The worklist's order in SQL, so that a page of a long list is sorted where its rows are
-- and only that page leaves the database. It is gateway/cases/case.c's, clause for clause
-- (clock_status, case_sla, case_sla_urgency_cmp); the unit test
-- pg.cases_worklist_order_as_in_c holds the two equal. Times are unix seconds, as the C
-- reads them. Each function is one expression over plain arguments, so that PostgreSQL
-- inlines it into the query instead of calling it for every row.

-- One clock: 0 not started, 1 on track, 2 at risk (less than a fifth of its window
-- left), 3 overdue, 4 met, 5 missed, 6 stopped.
CREATE FUNCTION cp_clock_status(start_at bigint, win bigint, paused bigint, done_at bigint,
                                now_at bigint, stopped boolean) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE
        WHEN start_at IS NULL THEN CASE WHEN stopped THEN 6 ELSE 0 END
        WHEN done_at IS NOT NULL THEN CASE WHEN done_at <= start_at + win + paused THEN 4 ELSE 5 END
        WHEN stopped THEN 6
        WHEN now_at > start_at + win + paused THEN 3
        WHEN start_at + win + paused - now_at < win / 5 THEN 2
        ELSE 1
    END
$$;

-- 0 overdue, 1 at risk, 2 anything else
CREATE FUNCTION cp_clock_urgency(status int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE status WHEN 3 THEN 0 WHEN 2 THEN 1 ELSE 2 END::bigint
$$;

-- the due time of a running clock (on track, at risk, overdue), else the largest bigint
CREATE FUNCTION cp_clock_due(status int, due bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN status IN (1, 2, 3) THEN due ELSE 9223372036854775807 END
$$;

-- {urgency of the more urgent clock, nearer due time of the running clocks}
CREATE FUNCTION cp_case_order(registered bigint, collecting bigint, records_done bigint,
                              published bigint, paused bigint, stopped boolean, now_at bigint,
                              records_days int, opinion_days int) RETURNS bigint[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        least(cp_clock_urgency(cp_clock_status(collecting, records_days * 86400::bigint, paused,
                                               records_done, now_at, stopped)),
              cp_clock_urgency(cp_clock_status(registered, opinion_days * 86400::bigint, paused,
                                               published, now_at, stopped))),
        least(cp_clock_due(cp_clock_status(collecting, records_days * 86400::bigint, paused,
                                           records_done, now_at, stopped),
                           collecting + records_days * 86400::bigint + paused),
              cp_clock_due(cp_clock_status(registered, opinion_days * 86400::bigint, paused,
                                           published, now_at, stopped),
                           registered + opinion_days * 86400::bigint + paused))]
$$;
