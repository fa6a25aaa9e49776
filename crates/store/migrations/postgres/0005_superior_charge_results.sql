-- Start and stop results of the charges drivers start through evgrid, queued for each superior
-- in the transaction that records them (key: evgrid's charge id).
CREATE FUNCTION superior_charge_result() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'requested' AND NEW.status IN ('started', 'refused') THEN
        PERFORM queue_superior_report('start_result', NEW.operator_id, NEW.id);
    ELSIF NEW.status = 'stop_requested' AND OLD.status <> 'stop_requested' THEN
        PERFORM queue_superior_report('stop_result', NEW.operator_id, NEW.id);
    END IF;
    RETURN NULL;
END;
$$;
CREATE TRIGGER superior_charge_result AFTER UPDATE OF status ON driver_sessions
    FOR EACH ROW EXECUTE FUNCTION superior_charge_result();
