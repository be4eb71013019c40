-- Weft's schema, version 1. Applied once, in one transaction, by
-- weft_pg::migrate (at `weft serve` start, or `weft db migrate`).
--
-- Records are kept as the JSON text the API shows (type text, not jsonb:
-- jsonb would reorder their keys, and nothing here queries inside them).
-- The columns beside a record are what the hosts select and coordinate on.
-- Ids and keys are COLLATE "C": listings go in byte order, as on sled
-- (run ids are UUIDv7, so byte order is time order), whatever the
-- database's default collation.

-- Run history: one row per run.
CREATE TABLE runs (
    id text COLLATE "C" PRIMARY KEY,
    automation_id text NOT NULL,
    -- RunStatus in kebab case: queued, running, paused, finished, ...
    status text NOT NULL,
    -- Milliseconds since the Unix epoch (the record's created_at).
    created_at bigint NOT NULL,
    record text NOT NULL,
    -- The host holding a queued or running run, and until when: a host
    -- renews its leases while it lives; a run whose lease ran out is taken
    -- over by another host (weft_pg::cluster). NULL once the run is final.
    lease_owner text,
    lease_until timestamptz,
    -- Set by a stop asked for on any host; the holder stops the run at
    -- its next block boundary.
    stop_requested boolean NOT NULL DEFAULT false
);
CREATE INDEX runs_by_automation ON runs (automation_id, id DESC);
CREATE INDEX runs_unfinished ON runs (status, lease_until)
    WHERE status IN ('queued', 'running', 'paused');
-- The runs a stop was asked for, looked up by their holder twice a second.
CREATE INDEX runs_stop_requested ON runs (lease_owner) WHERE stop_requested;
-- Counting an automation's running runs when a host claims a slot.
CREATE INDEX runs_running ON runs (automation_id) WHERE status = 'running';

-- A run's steps, one row per append (a short run's whole history is one
-- row): `steps` is a JSON array of step records from `first_seq` on.
CREATE TABLE run_steps (
    run_id text COLLATE "C" NOT NULL,
    first_seq bigint NOT NULL,
    steps text NOT NULL,
    PRIMARY KEY (run_id, first_seq)
);

-- Sealed copies of censored or scrubbed step outputs, for resuming.
CREATE TABLE run_sealed (
    run_id text COLLATE "C" NOT NULL,
    seq bigint NOT NULL,
    sealed text NOT NULL,
    PRIMARY KEY (run_id, seq)
);

-- State kept between runs of an automation (the state blocks).
CREATE TABLE automation_state (
    automation_id text COLLATE "C" NOT NULL,
    key text COLLATE "C" NOT NULL,
    entry text NOT NULL,
    PRIMARY KEY (automation_id, key)
);

-- The server's own tables (automations, users, tokens, sessions,
-- connections, connector installs, audit, replay memory, start marks,
-- ...), each a named tree of ordered byte keys as on sled.
CREATE TABLE kv (
    tree text NOT NULL,
    key bytea NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (tree, key)
);
-- Ids unique across hosts for kv keys that need them (audit entries).
CREATE SEQUENCE kv_ids;

-- One row per automation and schedule tick: the host whose insert wins
-- fires the tick, so each fires once whatever hosts are alive.
CREATE TABLE schedule_fires (
    automation_id text NOT NULL,
    tick bigint NOT NULL,
    host text NOT NULL,
    fired_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (automation_id, tick)
);

-- The hosts sharing this database, and when each last said it lives.
CREATE TABLE hosts (
    id text PRIMARY KEY,
    address text,
    started_at timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);
