-- Issue 16: the 文号 a notice was printed with is kept with the printed notice, so the matter
-- page lists each printed notice with its 文号 and a reprint keeps the same 文号 unless another
-- is typed. Printed notices stay local to the desk that printed them (notices.rs).
ALTER TABLE notices ADD COLUMN doc_no TEXT NOT NULL DEFAULT '';
