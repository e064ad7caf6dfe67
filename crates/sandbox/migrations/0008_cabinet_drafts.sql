-- A draft made in the cabinet for a plan-schedule created in ЕИС: its content as a
-- tenderPlan2020 packet (before the first placement) or a tenderPlan2020Change over the placed
-- version (a «проект изменений»). Placement reads it as it reads a received packet. NULL for
-- drafts received over the exchange (their content is the packet) and for an empty plan.
ALTER TABLE plan_versions ADD COLUMN draft_document TEXT;
