-- Issue 16: a mediation's 申请调解事项 (what the dispute is about and what is asked), which the
-- 人民调解申请书 and 受理登记表 state. Empty on records made before it.
ALTER TABLE mediations ADD COLUMN request TEXT NOT NULL DEFAULT '';
