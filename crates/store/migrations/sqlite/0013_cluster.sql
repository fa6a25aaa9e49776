-- Nodes of one deployment and the OCPP chargers connected to each: a node's row is its heartbeat;
-- a charger's presence row says which node holds its connection (cleared when the connection
-- ends, and with the node's rows when the node stops or its heartbeat goes stale). Transient:
-- `evgrid migrate` does not copy them.
CREATE TABLE cluster_nodes (
    node_id     TEXT PRIMARY KEY,
    started_at  BIGINT NOT NULL,
    last_seen   BIGINT NOT NULL
);

CREATE TABLE charger_presence (
    charger_id  TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL,
    version     TEXT NOT NULL,
    connection  BIGINT NOT NULL,
    since       BIGINT NOT NULL
);
CREATE INDEX charger_presence_node ON charger_presence (node_id);

-- Work exactly one node does at a time (a T/CEC operator's poller: `poller:OPERATOR`): the
-- holder renews its lease before each turn; another node takes it over once it expires.
CREATE TABLE leases (
    name        TEXT PRIMARY KEY,
    node_id     TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
