-- Pushed changes the server set aside instead of applying (docs/sync.md, "One refused change
-- never blocks a device"): a change stamped beyond the server's clock, a change touching another
-- hall's record. Each still takes its (device, seq), so a device's stream — `changes` and
-- `quarantine` together — stays contiguous and its later changes flow. Listed for the city
-- administrator (`GET /v1/city/quarantine`, `xinfang-city quarantine`); never pulled.
CREATE TABLE quarantine (
    device_id   TEXT NOT NULL,
    seq         INTEGER NOT NULL,
    hall_code   TEXT NOT NULL,
    entity      TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    op          TEXT NOT NULL,
    fields      TEXT NOT NULL,
    hlc         INTEGER NOT NULL,
    changed_at  TEXT NOT NULL,
    code        TEXT NOT NULL,
    reason      TEXT NOT NULL,
    received_at TEXT NOT NULL,
    PRIMARY KEY (device_id, seq)
) STRICT, WITHOUT ROWID;
