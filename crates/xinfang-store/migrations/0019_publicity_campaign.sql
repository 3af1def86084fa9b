-- Issue 16: the campaign a publicity activity belongs to (活动名称, e.g.
-- 第三届“循法信访、依法办访”法治宣传周); '' when none was given. It syncs with the activity, so
-- the city totals each campaign across halls; the county is the activity's hall_code.
-- (Number 0019: 0018 is another change's.)
ALTER TABLE publicity_activities ADD COLUMN campaign TEXT NOT NULL DEFAULT '';
CREATE INDEX publicity_activities_campaign ON publicity_activities(campaign, held_on);
