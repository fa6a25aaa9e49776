-- Siting plans run in the background, in the database: whichever node a request reaches
-- answers for any plan (its progress while it runs, its result when done). A running or queued
-- plan's updated_at is its heartbeat: a plan whose node stopped goes stale and counts no more.
CREATE TABLE plan_jobs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    owner       TEXT NOT NULL,
    node_id     TEXT NOT NULL,
    request     TEXT NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
    progress    REAL NOT NULL,
    phase       TEXT NOT NULL,
    objective   REAL,
    error       TEXT,
    result      TEXT,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);
CREATE INDEX plan_jobs_status ON plan_jobs (status, updated_at);
