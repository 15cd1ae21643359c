-- Web sessions, kept by the server so that logging out (or deleting the
-- API token a session was opened with, or its user) ends them. Only the
-- SHA-256 of the cookie's secret is stored.
CREATE TABLE web_sessions (
    hash     BYTEA PRIMARY KEY,
    token_id BIGINT NOT NULL REFERENCES tokens(id) ON DELETE CASCADE,
    created  BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);
CREATE INDEX web_sessions_token ON web_sessions(token_id);
CREATE INDEX web_sessions_expires ON web_sessions(expires);
