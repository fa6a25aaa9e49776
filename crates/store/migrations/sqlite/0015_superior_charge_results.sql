-- Start and stop results of the charges drivers start through evgrid, queued for each superior
-- in the transaction that records them (key: evgrid's charge id).
CREATE TRIGGER superior_charge_started AFTER UPDATE OF status ON driver_sessions
WHEN old.status = 'requested' AND new.status IN ('started', 'refused')
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'start_result', new.operator_id, new.id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;

CREATE TRIGGER superior_charge_stopped AFTER UPDATE OF status ON driver_sessions
WHEN new.status = 'stop_requested' AND old.status <> 'stop_requested'
BEGIN
    INSERT INTO superior_outbox (superior_id, kind, operator_id, item_key, created_ms, state, attempts, next_ms)
    SELECT superior_id, 'stop_result', new.operator_id, new.id,
           CAST((julianday('now') - 2440587.5) * 86400000.0 AS INTEGER), 'pending', 0, 0
    FROM superiors WHERE true
    ON CONFLICT (superior_id, kind, operator_id, item_key) WHERE state = 'pending'
    DO UPDATE SET changes = superior_outbox.changes + 1;
END;
