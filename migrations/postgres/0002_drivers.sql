-- Device-type drivers in the store, so every server instance serves the same
-- set (issue 3), and the merged settings each job was scheduled with.

-- Driver modules (WASM), content-addressed by their SHA-256.
CREATE TABLE driver_modules (
    sha256  TEXT PRIMARY KEY,
    name    TEXT NOT NULL,
    size    BIGINT  NOT NULL,
    data    BYTEA NOT NULL,
    created BIGINT  NOT NULL
);
CREATE INDEX driver_modules_name ON driver_modules(name);

-- The activation history of each driver name: a JSON array of SHA-256s,
-- oldest first; the last one is active.
CREATE TABLE driver_activations (
    name    TEXT PRIMARY KEY,
    history TEXT NOT NULL,
    updated BIGINT  NOT NULL
);

-- The merged settings (driver defaults < device-type overrides < device
-- dictionary) recorded when the job is scheduled; '' until then.
ALTER TABLE jobs ADD COLUMN settings TEXT NOT NULL DEFAULT '';
