-- A backlog case shows its notes and those of the cases merged into it (two desks flagged the
-- same matter). That lookup scanned every case for each case shown: 50 scans of a city's tens
-- of thousands of cases for one page of the backlog list or the dashboard (issue 21).
CREATE INDEX backlog_cases_merged ON backlog_cases(merged_into) WHERE merged_into IS NOT NULL;
