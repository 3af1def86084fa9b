-- Issue 16: 越级访, decided at registration (xinfang_core::hall::skip_level) and kept with the
-- visit so it is counted and its 越级走访告知书 names the 属地 the visitor was guided to. The
-- four sync as fields of the `visit` entity.
ALTER TABLE visits ADD COLUMN skip_level INTEGER NOT NULL DEFAULT 0;  -- 1: 越级访
ALTER TABLE visits ADD COLUMN skip_level_basis TEXT;      -- place (问题发生地) / handling (重复访的事项办理地)
ALTER TABLE visits ADD COLUMN skip_level_local TEXT;      -- the 属地's region code, e.g. 140521
ALTER TABLE visits ADD COLUMN skip_level_authority TEXT;  -- the 属地 authority named, e.g. 沁水县信访局
