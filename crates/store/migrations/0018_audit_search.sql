-- «Журнал действий»: an organization's entries, newest first.
CREATE INDEX audit_log_org ON audit_log (org_id, id);
