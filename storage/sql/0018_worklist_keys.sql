-- The worklist's order as two plain keys instead of 0015's array: building a bigint[] for
-- every row and comparing arrays in the sort, with each clock's status inlined four times,
-- cost more than reading the rows. The order is the same (gateway/cases/case.c:
-- case_sla_urgency_cmp; pg.cases_worklist_order_as_in_c holds the two equal):
--   a clock runs from its start until it is done, unless the case is withdrawn;
--   a running clock is overdue past its due time, at risk within a fifth of its window;
--   first the more urgent clock (overdue, at risk, other), then the nearer due time of the
--   running clocks.

-- The due time of a running clock, NULL when it does not run.
CREATE FUNCTION cp_clock_running_due(start_at bigint, done_at bigint, stopped boolean,
                                     win bigint, paused bigint) RETURNS bigint
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN start_at IS NOT NULL AND done_at IS NULL AND NOT stopped
                THEN start_at + win + paused END
$$;

-- 0 overdue, 1 at risk, 2 anything else (a clock that does not run: due NULL)
CREATE FUNCTION cp_clock_urgency_at(due bigint, now_at bigint, win bigint) RETURNS int
LANGUAGE sql IMMUTABLE AS $$
    SELECT CASE WHEN due < now_at THEN 0 WHEN due - now_at < win / 5 THEN 1 ELSE 2 END
$$;

DROP FUNCTION cp_case_order(bigint, bigint, bigint, bigint, bigint, boolean, bigint, int, int);
DROP FUNCTION cp_clock_due(int, bigint);
DROP FUNCTION cp_clock_urgency(int);
DROP FUNCTION cp_clock_status(bigint, bigint, bigint, bigint, bigint, boolean);
