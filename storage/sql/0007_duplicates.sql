-- Query/Retrieve leaves out an instance whose decoded pixels a visible one already has
-- (0006's duplicate_of). The view took its column list when 0003 made it; it is made
-- again so that it has 0006's columns too.
CREATE OR REPLACE VIEW current_instances AS
SELECT i.* FROM instances i
 WHERE NOT EXISTS (SELECT 1 FROM instances n
                    WHERE n.sop_instance_uid = i.sop_instance_uid AND n.version > i.version);

-- The copies of a representative (caseport ls), and ON DELETE SET NULL when it goes.
CREATE INDEX instances_duplicate_of ON instances (duplicate_of) WHERE duplicate_of IS NOT NULL;
