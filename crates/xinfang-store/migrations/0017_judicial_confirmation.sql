-- Issue 16: a mediation agreement's effective day (the 30 days to ask for 司法确认 run from it)
-- and the court's answer once known. Both sync with the mediation record.
ALTER TABLE mediations ADD COLUMN agreement_effective_on TEXT;  -- YYYY-MM-DD, agreements only
ALTER TABLE mediations ADD COLUMN confirmation_result TEXT;     -- confirmed / rejected
